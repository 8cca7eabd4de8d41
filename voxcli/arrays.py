"""The array types that audio moves in (spelled out: numpy before 2.3 has no default dtype for them)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Float32 = npt.NDArray[np.float32]  # audio samples, mono, in [-1, 1]
Int16 = npt.NDArray[np.int16]  # 16-bit PCM, as written to WAV and the cache
Floats = npt.NDArray[np.floating[Any]]  # signal maths at any float width (loudness)
Ints = npt.NDArray[np.integer[Any]]  # counts and durations
