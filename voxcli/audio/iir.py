"""A cascade of biquads (an IIR filter) run over audio with numpy alone, its state carried between calls.

scipy.signal's ``sosfilt`` would do it sample by sample, but importing scipy.signal costs a second and
about 75 MB, more than the filtering itself for a chapter. Here the recursion is cut into blocks and
done as matrix products (a state-space form, exact up to rounding, about 1e-13 of full scale):

- within a block of ``K`` samples the output is the block convolved with the impulse response (a
  K x K Toeplitz matrix) plus the response to the state the block starts from;
- the state at the start of each block follows ``s[m+1] = P s[m] + d[m]`` with ``P = A**K``; that
  recursion is cut into groups of ``G`` blocks in the same way, so Python loops once per ``K * G``
  samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from voxcli.arrays import Floats

Biquad = tuple[Sequence[float], Sequence[float]]  # (b0, b1, b2), (a0, a1, a2)
_BLOCK = 32  # samples per block
_GROUP = 64  # blocks per group


def state_space(sections: Sequence[Biquad]) -> tuple[Floats, Floats, Floats, float]:
    """(A, B, C, D) of the biquads in cascade: ``s' = A s + B u``, ``y = C s + D u``."""
    a_matrix = np.zeros((0, 0))
    b_vector, c_vector, d_scalar = np.zeros(0), np.zeros(0), 1.0
    for b, a in sections:
        b0, b1, b2 = (float(v) / float(a[0]) for v in b)
        _, a1, a2 = (float(v) / float(a[0]) for v in a)
        # One biquad in transposed direct form II: y = s1 + b0 u.
        a2x2 = np.array([[-a1, 1.0], [-a2, 0.0]])
        b2x1 = np.array([b1 - a1 * b0, b2 - a2 * b0])
        c1x2 = np.array([1.0, 0.0])
        # Feed the cascade so far into it.
        size = len(b_vector)
        joined = np.zeros((size + 2, size + 2))
        joined[:size, :size] = a_matrix
        joined[size:, :size] = np.outer(b2x1, c_vector)
        joined[size:, size:] = a2x2
        a_matrix = joined
        b_vector = np.concatenate([b_vector, b2x1 * d_scalar])
        c_vector = np.concatenate([b0 * c_vector, c1x2])
        d_scalar *= b0
    return a_matrix, b_vector, c_vector, d_scalar


class BlockFilter:
    """Biquads in cascade over audio fed in pieces of any size (each call continues the last)."""

    def __init__(self, sections: Sequence[Biquad]) -> None:
        a, b, c, d = state_space(sections)
        order = len(b)
        powers = [np.eye(order)]
        for _ in range(_BLOCK):
            powers.append(powers[-1] @ a)
        # Within a block: y = u @ toeplitz + s @ observe; the state after it: P s + u @ control.
        observe = np.stack([c @ powers[k] for k in range(_BLOCK)])  # K x order
        impulse = np.concatenate([[d], observe[:-1] @ b])
        toeplitz = np.zeros((_BLOCK, _BLOCK))
        for k in range(_BLOCK):
            toeplitz[k, k:] = impulse[: _BLOCK - k]
        self._observe = observe.T.copy()  # order x K
        self._control = np.stack([powers[_BLOCK - 1 - j] @ b for j in range(_BLOCK)])  # K x order
        # Both products of a block's input in one: its output so far, and what it adds to the state.
        self._forward = np.concatenate([toeplitz, self._control], axis=1)  # K x (K + order)
        self._powers = powers
        # The same one level up: the states at the starts of G blocks from the first one and the d's.
        step = powers[_BLOCK]
        steps = [np.eye(order)]
        for _ in range(_GROUP):
            steps.append(steps[-1] @ step)
        spread = np.zeros((_GROUP * order, _GROUP * order))
        for j in range(_GROUP):
            for i in range(j):
                spread[i * order : (i + 1) * order, j * order : (j + 1) * order] = steps[j - 1 - i].T
        self._spread = spread  # d (flattened per group) -> zero-state start states
        self._start = np.concatenate([steps[j].T for j in range(_GROUP)], axis=1)  # s0 -> start states
        self._finish = np.concatenate([steps[_GROUP - 1 - i].T for i in range(_GROUP)], axis=0)
        self._group_step = steps[_GROUP].T.copy()
        self.order = order

    def zero_state(self) -> Floats:
        return np.zeros(self.order)

    def __call__(self, x: Floats, state: Floats) -> tuple[Floats, Floats]:
        """The filtered ``x`` and the state after it, starting from ``state``."""
        size = len(x)
        if size == 0:
            return np.zeros(0), state
        order, span = self.order, _BLOCK * _GROUP
        groups = -(-size // span)
        if size == groups * span and x.dtype == np.float64 and x.flags.c_contiguous:
            padded = x  # (the meter's slices: whole groups already, no copy)
        else:
            padded = np.zeros(groups * span)
            padded[:size] = x
        # Products group by group (a stack of small ones): each stays under the size at which OpenBLAS
        # starts threads, which on these shapes cost more than they bring (and the engine's compete).
        blocks = padded.reshape(groups, _GROUP, _BLOCK)
        forward = blocks @ self._forward
        out = forward[:, :, :_BLOCK]
        pushed = np.ascontiguousarray(forward[:, :, _BLOCK:]).reshape(groups, 1, _GROUP * order)
        starts = (pushed @ self._spread).reshape(groups, _GROUP * order)
        ends = (pushed @ self._finish).reshape(groups, order)
        firsts = np.empty((groups, order))
        current = np.asarray(state, dtype=np.float64)
        for g in range(groups):
            firsts[g] = current
            current = current @ self._group_step + ends[g]
        states = (starts + firsts @ self._start).reshape(groups, _GROUP, order)
        out += states @ self._observe
        flat_out, flat_states = out.reshape(-1), states.reshape(groups * _GROUP, order)
        flat_blocks = blocks.reshape(groups * _GROUP, _BLOCK)
        # The state after the last real sample (the padding would carry it on).
        full, rest = divmod(size, _BLOCK)
        if full == groups * _GROUP:
            return flat_out[:size], current
        after = (
            self._powers[rest] @ flat_states[full] + flat_blocks[full, :rest] @ self._control[_BLOCK - rest :]
        )
        return flat_out[:size], after
