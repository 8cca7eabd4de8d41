"""Coqui XTTS v2 on disk: where its checkpoint is, loading it, and the CPML licence state.

Loading goes straight through ``Xtts.init_from_config`` and ``load_checkpoint`` on a local folder,
never through Coqui's ModelManager, whose licence question reads stdin and would hang a batch run.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from voxcli.engines.base import Problem

XTTS_MODEL = "tts_models/multilingual/multi-dataset/xtts_v2"
FOLDER_NAME = "tts_models--multilingual--multi-dataset--xtts_v2"  # Coqui's cache layout
REQUIRED = ("config.json", "model.pth", "vocab.json")
DIR_ENV = "VOXCLI_XTTS_DIR"
LICENSE_ENV = "COQUI_TOS_AGREED"
LICENSE_URL = "https://coqui.ai/cpml"


def coqui_cache() -> Path:
    """Coqui's own model folder (``$TTS_HOME``, ``$XDG_DATA_HOME`` or the platform's data folder)."""
    if os.environ.get("TTS_HOME"):
        return Path(os.environ["TTS_HOME"]).expanduser() / "tts"
    import platformdirs

    base = os.environ.get("XDG_DATA_HOME")
    return (Path(base).expanduser() if base else Path(platformdirs.user_data_dir())) / "tts"


def xtts_dirs(explicit: Path | None = None) -> list[Path]:
    """Where an xtts_v2 checkpoint is looked for, in order."""
    dirs = [explicit] if explicit else []
    if os.environ.get(DIR_ENV):
        dirs.append(Path(os.environ[DIR_ENV]).expanduser())
    return [*dirs, coqui_cache() / FOLDER_NAME]


def find_xtts(explicit: Path | None = None) -> Path | Problem:
    """The first folder holding a complete xtts_v2 checkpoint, or what is missing and how to get it."""
    dirs = xtts_dirs(explicit)
    for folder in dirs:
        if all((folder / name).is_file() for name in REQUIRED):
            return folder
    return Problem(
        f"XTTS v2 weights not found in {' or '.join(str(d) for d in dirs)}",
        "on a machine with internet, download config.json, model.pth, vocab.json and speakers_xtts.pth "
        f"from https://huggingface.co/coqui/XTTS-v2 into one folder and set {DIR_ENV} to it",
    )


def license_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("voxcli")) / "coqui-cpml-accepted"


def license_accepted() -> bool:
    """Accepted by ``COQUI_TOS_AGREED=1`` or once with ``voxcli doctor --accept-coqui-license``."""
    return os.environ.get(LICENSE_ENV) == "1" or license_file().is_file()


def accept_license() -> Path:
    """Record the user's acceptance of the Coqui Public Model License (CPML)."""
    from voxcli.fsutil import atomic_write_bytes, make_dirs

    path = license_file()
    make_dirs(path.parent)
    atomic_write_bytes(
        path,
        f"Accepted the Coqui Public Model License ({LICENSE_URL}) on {time.strftime('%Y-%m-%d')}.\n".encode(),
    )
    return path


def load_xtts(folder: Path, device: str = "cpu") -> Any:
    """An xtts_v2 model from a local checkpoint folder, on ``device``, in eval mode."""
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts

    config = XttsConfig()
    config.load_json(str(folder / "config.json"))
    model = Xtts.init_from_config(config)
    model.load_checkpoint(config, checkpoint_dir=str(folder), eval=True)
    return model.to(device)
