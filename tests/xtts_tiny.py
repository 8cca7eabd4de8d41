"""A tiny, randomly initialised XTTS v2 checkpoint that coqui-tts loads through its real code path.

``build_tiny_xtts(folder)`` writes a folder laid out like the real download of
``tts_models/multilingual/multi-dataset/xtts_v2`` so tests can exercise the genuine loading and
inference code of coqui-tts (0.28) without the 1.8 GB CPML-licensed weights and without network:

    config = XttsConfig(); config.load_json(str(folder / "config.json"))
    model = Xtts(config)
    model.load_checkpoint(config, checkpoint_dir=str(folder), eval=True)
    gpt_cond_latent, speaker_embedding = model.get_conditioning_latents(audio_path=[str(wav)])
    out = model.inference("Hello there.", "en", gpt_cond_latent, speaker_embedding, temperature=0.7)
    # out["wav"]: 1-D float32 numpy array at 24 kHz (noise: the weights are random)

Files of the real checkpoint folder
-----------------------------------
The Hugging Face repository (``tts-hub/XTTS-v2`` in coqui-tts 0.28's ``.models.json``; originally
``coqui/XTTS-v2``) holds
``config.json``, ``model.pth`` (GPT + HiFi-GAN decoder + speaker encoder, ~1.8 GB),
``vocab.json`` (the BPE tokenizer, ~6.7k ids, a ``tokenizers`` JSON file),
``speakers_xtts.pth`` (58 built-in studio speakers), ``mel_stats.pth`` and ``dvae.pth`` (both
only for fine-tuning), ``hash.md5``, ``LICENSE.txt``/``README.md`` and ``samples/``.
coqui-tts 0.28's ``.models.json`` downloads it with ``ignore: ["samples/*", "dvae.pth"]``.
``Xtts.load_checkpoint`` needs only ``model.pth`` and ``vocab.json`` (``vocab.json`` can
instead come from ``model_args.tokenizer_file``); ``speakers_xtts.pth`` is optional (loaded
into ``model.speaker_manager`` when present, else ``speaker_manager`` is None). This builder
writes ``config.json``, ``model.pth``, ``vocab.json``, ``speakers_xtts.pth`` (one speaker,
``"Tiny Speaker"``) and ``mel_stats.pth`` (unused by inference, written for the layout only).

The real loading path
---------------------
``Xtts.init_from_config(config)`` builds the HiFi-GAN decoder (and the GPT only if
``model_args.gpt_number_text_tokens`` is set). ``Xtts.load_checkpoint(config, checkpoint_dir=...,
checkpoint_path=None, vocab_path=None, eval=True, strict=True, use_deepspeed=False,
speaker_file_path=None)`` then: loads ``speakers_xtts.pth`` if it exists (``SpeakerManager``,
``torch.load(weights_only=True)``); ``VoiceBpeTokenizer(vocab_file=checkpoint_dir/vocab.json)``;
``init_models()`` again, now taking ``gpt_number_text_tokens`` (max id + 1) and the ``[START]`` /
``[STOP]`` ids from the tokenizer (so these config values are overwritten); ``model.pth`` via
``trainer.io.load_fsspec`` (``torch.load(weights_only=True)``; a legacy pickle holding an
``XttsConfig`` object is retried under ``torch.serialization.safe_globals`` and *rewritten in
place* with the config as a dict); keys starting ``xtts.`` are renamed and ``dvae.*`` /
``torch_mel_spectrogram_*`` keys dropped; ``load_state_dict(strict=True)`` of
``checkpoint["model"]``; with ``eval=True`` ``gpt.init_gpt_for_inference(kv_cache=...)`` wraps the
GPT in a Hugging Face ``GPT2InferenceModel`` for ``generate``. ``model.pth`` here is therefore
``torch.save({"model": state_dict}, ...)`` of a freshly built ``Xtts`` (before
``init_gpt_for_inference``, so no ``gpt.gpt_inference.*`` keys, like the v1.1+/v2 checkpoints).

What was shrunk and why (``TINY_MODEL_ARGS``)
---------------------------------------------
* ``gpt_layers`` 30 -> 1, ``gpt_n_model_channels`` 1024 -> 64, ``gpt_n_heads`` 16 -> 4: the
  GPT-2 stack and the ``ConditioningEncoder`` (6 attention blocks, GroupNorm: channels must be a
  multiple of a group count > 2, heads must divide channels). The ``PerceiverResampler``
  (``gpt_use_perceiver_resampler=True`` as in v2) has fixed ``dim_head=64, heads=8, depth=2,
  num_latents=32`` but its model dimension follows ``gpt_n_model_channels``, so the GPT
  conditioning latent is ``[1, 32, 64]`` instead of ``[1, 32, 1024]``.
* ``decoder_input_dim`` 1024 -> 64: it must equal ``gpt_n_model_channels`` (the GPT latents
  feed the HiFi-GAN decoder).
* ``gpt_max_audio_tokens`` 605 -> 24: caps generation at ``24 - 3 = 21`` audio codes
  (``GPT.max_gen_mel_tokens``), i.e. at most ~21 * 1024 / 22050 s ~ 1 s of 24 kHz audio, since
  random weights rarely emit the stop token.
* ``gpt_max_text_tokens`` 402 -> 100 (sentences must tokenise to fewer ids; only sizes a
  position table). ``gpt_max_prompt_tokens`` stays 70.
* ``gpt_num_audio_tokens`` / start / stop = 1026 / 1024 / 1025, the real v2 values (the
  ``XttsArgs`` defaults 8194/8192/8193 are the v1 ones).
* Not shrinkable through the config: the HiFi-GAN generator (``upsample_initial_channel=512``,
  rates 8-8-2-2, 3 resblocks) and the ``ResNetSpeakerEncoder`` (``proj_dim=512``, so
  ``d_vector_dim`` must stay 512). They are hard-coded in ``HifiDecoder.__init__`` and make up
  nearly all of the 23 M parameters (92 MB ``model.pth``) of the tiny model.

The tokenizer
-------------
coqui-tts does not ship the XTTS ``vocab.json``; the only tokenizer file in the package is the
Tortoise one (``TTS/tts/utils/assets/tortoise/tokenizer.json``), which lacks ``[START]`` and the
``[en]``-style language tokens. ``VoiceBpeTokenizer.encode`` turns text into
``"[en]" + cleaned text`` with spaces replaced by ``[SPACE]`` and calls ``Tokenizer.encode``, so
this builder writes a character-level ``tokenizers`` BPE (no merges, ``Whitespace``
pre-tokenizer, ``[UNK]`` for unknown characters) with the special tokens ``[STOP]``=0,
``[UNK]``=1, ``[SPACE]``=2, ``[START]`` and one ``[lang]`` token per ``XttsConfig.languages``.

The license prompt (``COQUI_TOS_AGREED``)
-----------------------------------------
Only ``TTS.utils.manage.ModelManager`` asks about the CPML: ``download_model(name)`` ->
``create_dir_and_download_model`` -> ``tos_agreed(model_item, output_path)`` is true when the
model's ``.models.json`` entry lacks ``"tos_required": true``, when
``<data dir>/tts/tts_models--multilingual--multi-dataset--xtts_v2/tos_agreed.txt`` exists, or
when the environment has ``COQUI_TOS_AGREED=1`` (exactly ``"1"``); otherwise ``ask_tos`` prints
the licence text and calls ``input()`` (which raises ``EOFError`` without a terminal, e.g. in
CI) and writes ``tos_agreed.txt`` on ``y``. For ``repo_id`` models (xtts_v2 is one) this check
runs on *every* ``download_model`` call, before ``huggingface_hub.snapshot_download`` (which puts
the files in the Hugging Face cache, not in the ``tts`` data dir; offline it needs
``HF_HUB_OFFLINE=1``). ``TTS.api.TTS("...xtts_v2")``
goes through the manager; building ``Xtts`` and calling ``Xtts.load_checkpoint`` on a folder
directly, as here, never touches the manager, so neither the prompt nor the variable matters.

How ``get_conditioning_latents`` reads reference audio
------------------------------------------------------
``TTS.tts.models.xtts.load_audio`` calls ``torchaudio.load(path)``, downmixes to mono, resamples
with ``torchaudio.functional.resample`` to ``load_sr`` (22050) and clips to [-1, 1] (logging an
error if the clip has no negative sample). With torchaudio >= 2.9 (2.11 here)
``torchaudio.load`` is ``load_with_torchcodec``: it needs the ``torchcodec`` package (pulled in by
the ``coqui-tts[codec]`` extra) *and* FFmpeg shared libraries (libavutil/libavcodec/libavformat
of a major version that torchcodec build supports; here Debian's FFmpeg 5.1) at runtime;
soundfile/sox backends are no longer used. In CI without FFmpeg, or with a
torchcodec build that does not match the torch version, loading the reference WAV fails even
though soundfile could read it. The speaker embedding (``get_speaker_embedding``) resamples to
16 kHz for the ResNet speaker encoder (its own ``torch`` spectrogram); the GPT latent uses
``torchaudio.transforms.MelSpectrogram`` on chunks of ``gpt_cond_chunk_len`` seconds (at least
0.33 s, else ``RuntimeError``), normalised by the ``mel_stats`` buffer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

SEED = 1234
TINY_SPEAKER = "Tiny Speaker"

#: ``model_args`` of the tiny model; everything else is the ``XttsArgs`` default.
TINY_MODEL_ARGS: dict[str, Any] = {
    "gpt_layers": 1,
    "gpt_n_model_channels": 64,
    "gpt_n_heads": 4,
    "decoder_input_dim": 64,
    "gpt_max_audio_tokens": 24,
    "gpt_max_text_tokens": 100,
    "gpt_max_prompt_tokens": 70,
    "gpt_num_audio_tokens": 1026,
    "gpt_start_audio_token": 1024,
    "gpt_stop_audio_token": 1025,
    "gpt_use_perceiver_resampler": True,
    "gpt_use_masking_gt_prompt_approach": True,
    "d_vector_dim": 512,
    "kv_cache": True,
}

_SPECIAL_TOKENS = ["[STOP]", "[UNK]", "[SPACE]", "[START]"]
_CHARACTERS = list("abcdefghijklmnopqrstuvwxyz") + list("!'(),-.:;?\"") + list("0123456789")
_ACCENTED = list("àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿßœ")


def write_vocab(path: Path, languages: list[str], size: int | None = None) -> Path:
    """A character-level ``tokenizers`` BPE file that ``VoiceBpeTokenizer`` accepts; ``size``: padded
    with ids text never maps to up to that many (the real vocab.json has 6,681), so the GPT's text
    embedding and head have their real shapes."""
    from tokenizers import AddedToken, Tokenizer
    from tokenizers.models import BPE
    from tokenizers.pre_tokenizers import Whitespace

    special = _SPECIAL_TOKENS + [f"[{lang}]" for lang in languages]
    symbols = special + _CHARACTERS + _ACCENTED
    symbols += [f"[unused{index}]" for index in range(max(0, (size or 0) - len(symbols)))]
    vocab = {symbol: index for index, symbol in enumerate(symbols)}
    tokenizer = Tokenizer(BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    tokenizer.add_special_tokens([AddedToken(token, normalized=False) for token in special])
    tokenizer.save(str(path))
    return path


def tiny_config(folder: Path) -> Any:
    """An ``XttsConfig`` for the tiny model (``TINY_MODEL_ARGS``), with text-token ids from ``vocab.json``."""
    from tokenizers import Tokenizer
    from TTS.tts.configs.xtts_config import XttsConfig

    config = XttsConfig()
    for key, value in TINY_MODEL_ARGS.items():
        setattr(config.model_args, key, value)
    tokenizer = Tokenizer.from_file(str(folder / "vocab.json"))
    # load_checkpoint recomputes these three from vocab.json; set them so init_from_config builds the GPT
    config.model_args.gpt_number_text_tokens = max(tokenizer.get_vocab().values()) + 1
    config.model_args.gpt_start_text_token = tokenizer.token_to_id("[START]")
    config.model_args.gpt_stop_text_token = tokenizer.token_to_id("[STOP]")
    return config


def build_tiny_xtts(folder: Path, seed: int = SEED) -> Path:
    """Write a tiny random XTTS v2 checkpoint folder into ``folder`` and return ``folder``."""
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_vocab(folder / "vocab.json", list(XttsConfig().languages))
    config = tiny_config(folder)
    config.save_json(str(folder / "config.json"))

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Xtts(config)
        dim = config.model_args.gpt_n_model_channels
        speakers = {
            TINY_SPEAKER: {
                "gpt_cond_latent": torch.randn(1, 32, dim),
                "speaker_embedding": torch.nn.functional.normalize(
                    torch.randn(1, config.model_args.d_vector_dim), dim=1
                ).unsqueeze(-1),
            }
        }
    state = {key: value.detach().clone() for key, value in model.state_dict().items()}
    torch.save({"model": state}, folder / "model.pth")
    torch.save(speakers, folder / "speakers_xtts.pth")
    torch.save(torch.ones(80), folder / "mel_stats.pth")
    return folder


def build_tiny_vits(
    tts_home: Path, name: str = "tts_models/en/ljspeech/vits", speakers: list[str] | None = None
) -> Path:
    """A tiny random VITS model where Coqui keeps a downloaded ``name`` (``TTS_HOME/tts/...``).

    For the coqui engine's path through ``TTS.api.TTS(model_name)``: Coqui finds it already
    downloaded, so nothing touches the network. Characters, not phonemes: no espeak-ng needed.
    """
    import torch
    from TTS.tts.configs.vits_config import VitsConfig
    from TTS.tts.models.vits import Vits, VitsArgs

    folder = tts_home / "tts" / name.replace("/", "--")
    folder.mkdir(parents=True, exist_ok=True)
    # Multi-speaker: a speaker-id file and a speaker embedding table, as VCTK's VITS has.
    multi: dict[str, Any] = {}
    if speakers:
        ids = folder / "speaker_ids.json"
        ids.write_text(json.dumps({speaker: i for i, speaker in enumerate(speakers)}), encoding="utf-8")
        multi = {"use_speaker_embedding": True, "speakers_file": str(ids)}
    args = VitsArgs(
        hidden_channels=32,
        hidden_channels_ffn_text_encoder=64,
        num_heads_text_encoder=2,
        num_layers_text_encoder=1,
        num_layers_flow=1,
        num_layers_posterior_encoder=1,
        resblock_kernel_sizes_decoder=[3],
        resblock_dilation_sizes_decoder=[[1, 3, 5]],
        upsample_rates_decoder=[8, 8, 4],
        upsample_initial_channel_decoder=32,
        upsample_kernel_sizes_decoder=[16, 16, 8],
        **multi,
    )
    config = VitsConfig(model_args=args, use_phonemes=False, text_cleaner="english_cleaners", **multi)
    config.audio.sample_rate = 22050
    with torch.random.fork_rng():
        torch.manual_seed(SEED)
        model = Vits.init_from_config(config)
    config.save_json(str(folder / "config.json"))
    torch.save({"model": model.state_dict()}, folder / "model_file.pth")
    return folder
