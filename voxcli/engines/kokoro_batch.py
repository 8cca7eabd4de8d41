"""Kokoro's forward pass over several pieces at once, giving each the audio it gets alone.

``kokoro.KModel.forward_with_tokens`` speaks one piece per call: its duration LSTM, its instance norms
(every AdaIN of the prosody predictor, the decoder and the vocoder normalises over the whole time
axis) and its convolutions would all read a neighbour's padding in a padded batch. This module runs
the same modules with the same weights, padded to the longest piece, and keeps every piece apart:

- the LSTMs get packed sequences of each piece's own length;
- the instance norms take their mean and variance over each piece's own frames;
- every convolution reads zeros past a piece's end, as it does alone (its input is masked);
- the harmonic source, its STFT and the final inverse STFT run per piece (they are cheap, and the
  STFT's reflection padding and the source's interpolation look past the end).

So a piece's audio differs from the one-at-a-time call only by float rounding. The vocoder's source
adds random noise and a random phase per harmonic; with a seed, each piece draws them from torch's
generators seeded for it alone, which makes its audio independent of the batch it rides in.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from voxcli.arrays import Float32, Ints
from voxcli.errors import EngineError

log = logging.getLogger(__name__)

# Pieces per pass on a CPU when the profile leaves it to us: batching saves nothing there (the cores
# are busy with one piece already) and the masks cost a little, so one piece, through kokoro's own pass.
CPU_BATCH = 1
CPU_TOKENS = 2400  # padded tokens per pass on a CPU: bounds the memory of a batch of long pieces
GPU_BATCH = 128  # pieces per pass on a GPU at most, when its memory allows
# Device memory a padded token needs, before the first batch measures it: the vocoder's last stage
# holds ~8 tensors of 128 channels at 120 steps per frame, ~3 frames per token (about 1.5 MiB).
GPU_BYTES_PER_TOKEN = 2 * 1024 * 1024
GPU_SHARE = 0.8  # of the free device memory, for one batch


class Batcher:
    """Pieces grouped into passes of similar length that fit the device; a pass that runs out of
    memory is split in two and tried again, and later passes stay at that size."""

    def __init__(self, device: str, cap: int = 0, precision: str = "fp32") -> None:
        self.device, self.cap, self.precision = device, cap, precision
        self.limit: int | None = None  # lowered after running out of memory
        self.bytes_per_token = GPU_BYTES_PER_TOKEN
        self.passes = 0  # model calls made (for tests and reports)

    def size(self) -> int:
        """Pieces per pass at most."""
        chosen = self.cap or (GPU_BATCH if self.device.startswith("cuda") else CPU_BATCH)
        return max(1, min(chosen, self.limit or chosen))

    def tokens(self) -> int:
        """Padded tokens per pass at most (pieces times the longest piece)."""
        if self.device.startswith("cuda"):
            import torch

            free, _ = torch.cuda.mem_get_info(torch.device(self.device))
            return max(1, int(free * GPU_SHARE / self.bytes_per_token))
        return CPU_TOKENS

    def groups(self, pieces: Sequence[Piece]) -> list[list[int]]:
        """Indices of ``pieces``, longest first, in passes of at most size() pieces and tokens() tokens."""
        order = sorted(range(len(pieces)), key=lambda i: -len(pieces[i].ids))
        size, budget = self.size(), self.tokens()
        groups: list[list[int]] = []
        for index in order:
            if (
                groups
                and len(groups[-1]) < size
                and (len(groups[-1]) + 1) * (len(pieces[groups[-1][0]].ids) + 2) <= budget
            ):
                groups[-1].append(index)
            else:
                groups.append([index])
        return groups

    def run(self, model: Any, pieces: Sequence[Piece], speed: float) -> list[tuple[Float32, Ints]]:
        """(audio, durations) of every piece, in the order given."""
        results: list[tuple[Float32, Ints] | None] = [None] * len(pieces)
        queue = deque(self.groups(pieces))
        while queue:
            group = queue.popleft()
            batch = [pieces[i] for i in group]
            try:
                spoken = self._pass(model, batch, speed)
            except Exception as exc:
                if not out_of_memory(exc):
                    raise
                free_memory(self.device)
                if len(group) == 1:
                    raise EngineError(
                        f"Kokoro ran out of {self.device} memory on one piece of "
                        f"{len(batch[0].ids)} phonemes",
                        "use --device cpu, or a smaller chunk_phonemes in the voice's options",
                    ) from exc
                half = (len(group) + 1) // 2
                if self.limit is None or half < self.limit:
                    log.warning(
                        "Kokoro ran out of %s memory: %d pieces per pass from now on", self.device, half
                    )
                    self.limit = half
                queue = deque(part for g in (group, *queue) for part in _split(g, self.limit))
                continue
            for index, result in zip(group, spoken, strict=True):
                results[index] = result
        done = [result for result in results if result is not None]
        assert len(done) == len(pieces)
        return done

    def _pass(self, model: Any, batch: Sequence[Piece], speed: float) -> list[tuple[Float32, Ints]]:
        self.passes += 1
        if not self.device.startswith("cuda"):
            return forward(model, batch, speed)
        import torch

        device = torch.device(self.device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        if self.precision == "fp32":
            spoken = forward(model, batch, speed)
        else:  # autocast keeps the norms' sums, exp and the STFTs in float32
            dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
            with torch.autocast("cuda", dtype=dtype):
                spoken = forward(model, batch, speed)
        used = torch.cuda.max_memory_allocated(device) - before
        tokens = len(batch) * max(len(p.ids) + 2 for p in batch)
        # What this pass really needed, with a margin: the next passes are sized by it.
        self.bytes_per_token = max(1024, int(used * 1.25 / tokens))
        return spoken


def _split(group: list[int], size: int) -> list[list[int]]:
    return [group[start : start + size] for start in range(0, len(group), size)]


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is a device (or host) allocation failure."""
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def free_memory(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


@dataclass(frozen=True)
class Piece:
    """One model call's worth: token ids (without the boundary pads) and its style row (1, 256)."""

    ids: Sequence[int]
    style: Any  # torch.Tensor
    seed: int | None = None  # for the vocoder's noise; None: torch's global generator as it stands


def forward(model: Any, pieces: Sequence[Piece], speed: float = 1.0) -> list[tuple[Float32, Ints]]:
    """(audio, durations) for each piece, as ``model.forward_with_tokens`` gives them one at a time.

    Durations have one entry per token including the two boundary pads, in frames of 600 samples;
    the audio has ``600 * sum(durations)`` samples. A single piece goes through kokoro's own forward
    pass (nothing to keep apart); several through :func:`padded`.
    """
    if len(pieces) == 1:
        return [_alone(model, pieces[0], speed)]
    return padded(model, pieces, speed)


def _alone(model: Any, piece: Piece, speed: float) -> tuple[Float32, Ints]:
    import torch

    tokens = torch.LongTensor([[0, *piece.ids, 0]]).to(model.device)
    with torch.inference_mode(), _seeded(piece.seed, model.device):
        audio, durations = model.forward_with_tokens(tokens, piece.style.to(model.device), speed)
    return audio.reshape(-1).float().cpu().numpy(), durations.reshape(-1).cpu().numpy().astype(np.int64)


def _seeded(seed: int | None, device: Any) -> Any:
    """torch's global generators seeded for one piece (and restored after); nothing without a seed."""
    import contextlib

    import torch

    if seed is None:
        return contextlib.nullcontext()
    devices = [device] if str(device).startswith("cuda") else []
    forked = torch.random.fork_rng(devices=devices)

    @contextlib.contextmanager
    def seeded() -> Any:
        with forked:
            torch.manual_seed(seed)
            yield

    return seeded()


def padded(model: Any, pieces: Sequence[Piece], speed: float = 1.0) -> list[tuple[Float32, Ints]]:
    """:func:`forward` for a padded batch of any size (one piece too: the tests compare it)."""
    import torch

    device = model.device
    lengths = torch.tensor([len(p.ids) + 2 for p in pieces], dtype=torch.long)
    count, width = len(pieces), int(lengths.max())
    input_ids = torch.zeros((count, width), dtype=torch.long)
    for row, piece in enumerate(pieces):
        input_ids[row, 1 : len(piece.ids) + 1] = torch.as_tensor(list(piece.ids), dtype=torch.long)
    input_ids = input_ids.to(device)
    text_mask = (torch.arange(width)[None, :] >= lengths[:, None]).to(device)  # True past the end
    ref_s = torch.cat([p.style.reshape(1, -1) for p in pieces]).to(device)
    style = ref_s[:, 128:]

    with torch.inference_mode():
        bert = model.bert(input_ids, attention_mask=(~text_mask).int())
        d_en = model.bert_encoder(bert).transpose(-1, -2)
        d = model.predictor.text_encoder(d_en, style, lengths.to(device), text_mask)
        x = _lstm(model.predictor.lstm, d, lengths, width)
        duration = torch.sigmoid(model.predictor.duration_proj(x)).sum(dim=-1) / speed
        pred_dur = torch.round(duration).clamp(min=1).long().masked_fill(text_mask, 0)
        frames = pred_dur.sum(dim=-1)
        alignment = _alignment(pred_dur, int(frames.max()))
        en = d.transpose(-1, -2) @ alignment
        f0, noise = _f0n(model.predictor, en, style, frames)
        t_en = model.text_encoder(input_ids, lengths.to(device), text_mask)
        asr = t_en @ alignment
        audio = _decode(model.decoder, asr, f0, noise, ref_s[:, :128], frames, pieces)
    durations = pred_dur.cpu().numpy()
    return [(audio[row], durations[row, : int(lengths[row])].astype(np.int64)) for row in range(count)]


# ---- masks and masked layers ------------------------------------------------------------------------


class _Mask:
    """Which time steps of a padded (batch, channels, time) tensor belong to each piece."""

    def __init__(self, lengths: Any, size: int) -> None:
        import torch

        self.lengths = lengths
        self.valid = (torch.arange(size, device=lengths.device)[None, :] < lengths[:, None]).float()[
            :, None, :
        ]
        self.count = lengths.clamp(min=1).float()[:, None, None]

    def __call__(self, x: Any) -> Any:
        return x * self.valid


def _mask(lengths: Any) -> _Mask:
    return _Mask(lengths, int(lengths.max()))


def _lstm(lstm: Any, x: Any, lengths: Any, width: int) -> Any:
    """A batch-first LSTM over each sequence's own steps (padding after them reads as zeros)."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = lstm(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=width)
    return out if out.shape[1] == width else torch.nn.functional.pad(out, (0, 0, 0, width - out.shape[1]))


def _alignment(pred_dur: Any, frames: int) -> Any:
    """(batch, tokens, frames): 1 where a frame belongs to a token (each piece's frames from 0)."""
    import torch

    ends = pred_dur.cumsum(dim=-1)
    starts = ends - pred_dur
    step = torch.arange(frames, device=pred_dur.device)[None, None, :]
    return ((step >= starts[:, :, None]) & (step < ends[:, :, None])).float()


def _instance_norm(norm: Any, x: Any, mask: _Mask) -> Any:
    """``nn.InstanceNorm1d`` over each piece's own steps (biased variance, as torch's)."""
    import torch

    mean = mask(x).sum(dim=-1, keepdim=True) / mask.count
    centred = x - mean
    var = mask(centred).pow(2).sum(dim=-1, keepdim=True) / mask.count
    out = centred * torch.rsqrt(var + norm.eps)
    if norm.weight is not None:
        out = out * norm.weight[None, :, None] + norm.bias[None, :, None]
    return out


def _adain(layer: Any, x: Any, style: Any, mask: _Mask) -> Any:
    import torch

    h = layer.fc(style)
    gamma, beta = torch.chunk(h.view(h.size(0), h.size(1), 1), chunks=2, dim=1)
    return (1 + gamma) * _instance_norm(layer.norm, x, mask) + beta


def _adain_block(block: Any, x: Any, style: Any, into: _Mask, out: _Mask) -> Any:
    """``istftnet.AdainResBlk1d`` (``out`` is twice ``into`` when the block upsamples)."""
    import torch

    r = block.actv(_adain(block.norm1, x, style, into))
    r = block.pool(into(r))
    r = block.conv1(out(r))
    r = block.actv(_adain(block.norm2, r, style, out))
    r = block.conv2(out(r))
    return (r + block._shortcut(x)) * torch.rsqrt(torch.tensor(2.0, device=x.device))


def _snake(x: Any, alpha: Any) -> Any:
    import torch

    return x + (1 / alpha) * (torch.sin(alpha * x) ** 2)


def _res_block(block: Any, x: Any, style: Any, mask: _Mask) -> Any:
    """``istftnet.AdaINResBlock1``."""
    layers = zip(
        block.convs1, block.convs2, block.adain1, block.adain2, block.alpha1, block.alpha2, strict=True
    )
    for conv1, conv2, norm1, norm2, alpha1, alpha2 in layers:
        xt = conv1(mask(_snake(_adain(norm1, x, style, mask), alpha1)))
        xt = conv2(mask(_snake(_adain(norm2, xt, style, mask), alpha2)))
        x = xt + x
    return x


# ---- the prosody predictor's F0 and energy ----------------------------------------------------------


def _f0n(predictor: Any, en: Any, style: Any, frames: Any) -> tuple[Any, Any]:
    """``ProsodyPredictor.F0Ntrain``: (F0, N), each (batch, 2 * frames)."""
    x = _lstm(predictor.shared, en.transpose(-1, -2), frames, en.shape[-1]).transpose(-1, -2)
    once, twice = _mask(frames), _Mask(2 * frames, 2 * en.shape[-1])
    curves = []
    for blocks, proj in ((predictor.F0, predictor.F0_proj), (predictor.N, predictor.N_proj)):
        y, mask = x, once
        for block in blocks:
            after = twice if block.upsample_type != "none" else mask
            y = _adain_block(block, y, style, mask, after)
            mask = after
        curves.append(proj(y).squeeze(1))
    return curves[0], curves[1]


# ---- the decoder and its iSTFTNet vocoder -----------------------------------------------------------


def _decode(
    decoder: Any, asr: Any, f0: Any, noise: Any, style: Any, frames: Any, pieces: Sequence[Piece]
) -> list[Float32]:
    import torch

    once, twice = _mask(frames), _Mask(2 * frames, f0.shape[-1])
    f0_down = decoder.F0_conv(twice(f0.unsqueeze(1)))
    n_down = decoder.N_conv(twice(noise.unsqueeze(1)))
    x = _adain_block(decoder.encode, torch.cat([asr, f0_down, n_down], dim=1), style, once, once)
    asr_res = decoder.asr_res(asr)
    mask, residual = once, True
    for block in decoder.decode:
        if residual:
            x = torch.cat([x, asr_res, f0_down, n_down], dim=1)
        upsamples = block.upsample_type != "none"
        after = twice if upsamples else mask
        x = _adain_block(block, x, style, mask, after)
        mask = after
        residual = residual and not upsamples
    return _generate(decoder.generator, x, style, f0, 2 * frames, pieces)


def _generate(
    generator: Any, x: Any, style: Any, f0: Any, steps: Any, pieces: Sequence[Piece]
) -> list[Float32]:
    """``istftnet.Generator``: ``steps`` are each piece's lengths at ``x``'s rate (2 per frame)."""
    import torch
    import torch.nn.functional as F

    stft = generator.stft
    harmonics = [
        _harmonics(generator, f0[row : row + 1, : int(steps[row])], piece.seed)
        for row, piece in enumerate(pieces)
    ]
    har_lengths = torch.tensor([h.shape[-1] for h in harmonics], device=x.device)
    har = torch.zeros((len(pieces), harmonics[0].shape[1], int(har_lengths.max())), device=x.device)
    for row, h in enumerate(harmonics):
        har[row, :, : h.shape[-1]] = h[0]
    har = _Mask(har_lengths, har.shape[-1])(har)

    mask = _mask(steps)
    lengths = steps
    for i, rate in enumerate(generator.ups[j].stride[0] for j in range(generator.num_upsamples)):
        last = i == generator.num_upsamples - 1
        x = F.leaky_relu(x, negative_slope=0.1)
        lengths = lengths * rate + (1 if last else 0)
        after = _Mask(lengths, x.shape[-1] * rate + (1 if last else 0))
        source = _res_block(generator.noise_res[i], generator.noise_convs[i](har), style, after)
        x = generator.ups[i](mask(x))
        if last:
            x = generator.reflection_pad(x)
        x = x + source
        mask = after
        kernels = generator.num_kernels
        x = (
            sum(_res_block(generator.resblocks[i * kernels + j], x, style, mask) for j in range(kernels))
            / kernels
        )
    x = generator.conv_post(mask(F.leaky_relu(x)))
    bins = generator.post_n_fft // 2 + 1
    spec, phase = torch.exp(x[:, :bins, :]), torch.sin(x[:, bins:, :])
    audio = []
    for row in range(len(pieces)):
        end = int(lengths[row])
        wave = stft.inverse(spec[row : row + 1, :, :end], phase[row : row + 1, :, :end])
        audio.append(wave.reshape(-1).float().cpu().numpy())
    return audio


def _harmonics(generator: Any, f0: Any, seed: int | None) -> Any:
    """The harmonic source of one piece as the vocoder reads it: (1, n_fft + 2, STFT frames)."""
    import torch

    upsampled = generator.f0_upsamp(f0[:, None]).transpose(1, 2)
    with _seeded(seed, f0.device):
        merged = _source(generator.m_source, upsampled).transpose(1, 2).squeeze(1)
    spec, phase = generator.stft.transform(merged)
    return torch.cat([spec, phase], dim=1)


def _source(module: Any, f0: Any) -> Any:
    """``istftnet.SourceModuleHnNSF``, drawing from torch's generators in the same order (so a piece
    gets the noise it gets from kokoro's own forward pass when the generators are in the same state)."""
    import torch
    import torch.nn.functional as F

    sine = module.l_sin_gen
    assert not sine.flag_for_pulse
    harmonics = torch.arange(1, sine.harmonic_num + 2, device=f0.device, dtype=f0.dtype)
    rad = (f0 * harmonics / sine.sampling_rate) % 1
    initial = torch.rand(f0.shape[0], rad.shape[2], device=f0.device)
    initial[:, 0] = 0
    rad[:, 0, :] = rad[:, 0, :] + initial
    scale = sine.upsample_scale
    rad = F.interpolate(rad.transpose(1, 2), scale_factor=1 / scale, mode="linear").transpose(1, 2)
    phase = torch.cumsum(rad, dim=1) * 2 * math.pi
    phase = F.interpolate(phase.transpose(1, 2) * scale, scale_factor=scale, mode="linear").transpose(1, 2)
    waves = torch.sin(phase) * sine.sine_amp
    voiced = (f0 > sine.voiced_threshold).float()
    amplitude = voiced * sine.noise_std + (1 - voiced) * sine.sine_amp / 3
    # randn_like fills this transposed tensor in its own memory order: the same draws as kokoro's.
    waves = waves * voiced + amplitude * torch.randn_like(waves)
    torch.randn_like(voiced)  # kokoro draws (and drops) the noise source here: keep the stream in step
    return module.l_tanh(module.l_linear(waves))
