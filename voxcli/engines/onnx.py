"""ONNX Runtime pieces shared by the ONNX engines (Piper, kokoro-onnx)."""

from __future__ import annotations

import os
from typing import Any

from voxcli.errors import EngineError


def providers(device: str, engine: str) -> list[str]:
    """Execution providers for a device: CUDA when asked for (or auto) and present, else the CPU."""
    import onnxruntime

    available = onnxruntime.get_available_providers()
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise EngineError(
            f"{engine} cannot use CUDA: this onnxruntime has no CUDA provider",
            "pip install onnxruntime-gpu, or use --device cpu",
        )
    return ["CPUExecutionProvider"]


def session_options(threads: int | None) -> Any:
    """Explicit threads: ``threads`` (all cores when None) inside an operator, one across operators."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or (os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    return options
