"""XTTS v2 speed on a random-weight stand-in: `.venv/bin/python bench/xtts.py [--standin DIR] [--device D]
[--threads N]`.

THE FIGURES COME FROM A RANDOM-WEIGHT STAND-IN, NOT FROM THE REAL XTTS v2 CHECKPOINT (1.8 GB, under the
CPML, not downloadable here). The stand-in has XTTS v2's published shapes, so it does the same arithmetic
per audio token as the real model; what it cannot do is decide when to stop, so the number of audio
tokens per sentence is fixed instead (below). It says nothing about how the audio sounds.

The stand-in: `Xtts(config)` of coqui-tts with the `model_args` of the published xtts_v2 config.json
(huggingface.co/coqui/XTTS-v2, `config.json`; copies of it are quoted in public repositories): a GPT-2
of 30 layers, 1,024 channels, 16 heads, gpt_max_audio_tokens 605, gpt_max_text_tokens 402,
gpt_max_prompt_tokens 70, 1,026 audio tokens (start 1024, stop 1025; coqui-tts' XttsArgs defaults
have the v1 values 8194/8192/8193 instead), 6,681 text tokens, the perceiver resampler, and the
HiFi-GAN decoder and speaker encoder that XTTS builds itself. Everything else is the XttsArgs default,
which equals the published value. Weights are PyTorch's random initialisation (seeded), except that
the stop token's logit bias is pinned far below the others, so generation always runs to the cap.
vocab.json is character-level (tests/xtts_tiny.py), padded to 6,681 ids: real BPE gives fewer text
tokens per character, which changes only the prompt, done once per sentence. It is saved as a
checkpoint folder (config.json, model.pth, vocab.json, speakers_xtts.pth with one speaker) and loaded
by voxcli's own loader (`voxcli.engines.xtts_files`, through `load_engine`).

Audio tokens per character: XTTS's GPT makes one audio token per gpt_code_stride_len = 1,024 samples at
input_sample_rate = 22,050 Hz (config.json), 21.53 tokens a second of speech. A narrator speaks about
155 words a minute (the usual audiobook pace, 150-160), and English prose has 5.6 characters a word,
spaces and punctuation included (measured on Moby-Dick, chapters 4-8, in ../shared/corpus): 14.5
characters a second, so 1.49 audio tokens a character. The bench caps each sentence's generation at
that many tokens (`gpt.max_gen_mel_tokens`, which both `inference` and `inference_stream` read).

Measured per device (and precision, on CUDA): loading the stand-in; a few sentences spoken whole
(`speak`, what convert does: characters a second, real-time factor, first audio = the whole sentence)
and streamed (`chunks_as_made` -> `CoquiEngine.stream`, what the server sends: first audio after one
piece of `stream_tokens` tokens, and the total, which grows because XTTS's `inference_stream`
decodes all of a sentence's latents again for every piece). Prints a Markdown table and writes
bench/results-xtts.json, with the load average before the run: on a busy machine, fewer torch threads
than cores can be several times faster (the GPT's one-token steps are small ops that wait on every
thread), hence --threads.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path, where this file would shadow the package.
sys.path[:] = [str(REPO), *(p for p in sys.path if Path(p or ".").resolve() != REPO / "bench")]

SEED = 2024
SPEAKER = "Standin Speaker"
#: model_args of the published xtts_v2 config.json that differ from coqui-tts' XttsArgs defaults.
XTTS_V2_ARGS: dict[str, Any] = {
    "gpt_num_audio_tokens": 1026,
    "gpt_start_audio_token": 1024,
    "gpt_stop_audio_token": 1025,
    "gpt_use_perceiver_resampler": True,
}
#: Its top-level inference and cloning settings (XttsConfig's defaults are 0.85, 2.0, 12, 10).
XTTS_V2_CONFIG: dict[str, Any] = {
    "temperature": 0.75,
    "repetition_penalty": 5.0,
    "gpt_cond_len": 30,
    "max_ref_len": 30,
}
TEXT_TOKENS = 6681  # gpt_number_text_tokens of the published config: the size of the real vocab.json
AUDIO_TOKENS_PER_SECOND = 22050 / 1024
CHARS_PER_SECOND = 155 * 5.6 / 60
TOKENS_PER_CHAR = AUDIO_TOKENS_PER_SECOND / CHARS_PER_SECOND  # 1.49
STREAM_TOKENS = 20  # the engine's default piece (coqui's inference_stream default too)
SENTENCES = [  # Moby-Dick, chapter 1
    "Call me Ishmael.",
    "Some years ago, never mind how long precisely, I thought I would sail about a little.",
    "It is a way I have of driving off the spleen, and regulating the circulation.",
]


def default_folder() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("voxcli")) / "bench" / "xtts-v2-standin"


def build_standin(folder: Path, seed: int = SEED) -> Path:
    """Write the full-size random-weight XTTS v2 checkpoint folder (about 1.9 GB) into ``folder``."""
    import torch
    from tokenizers import Tokenizer
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.models.xtts import Xtts

    from tests.xtts_tiny import write_vocab

    folder.mkdir(parents=True, exist_ok=True)
    config = XttsConfig()
    write_vocab(folder / "vocab.json", list(config.languages), size=TEXT_TOKENS)
    for key, value in XTTS_V2_ARGS.items():
        setattr(config.model_args, key, value)
    for key, value in XTTS_V2_CONFIG.items():
        setattr(config, key, value)
    tokenizer = Tokenizer.from_file(str(folder / "vocab.json"))
    # load_checkpoint takes these from vocab.json again; set here so Xtts(config) builds the GPT
    config.model_args.gpt_number_text_tokens = max(tokenizer.get_vocab().values()) + 1
    config.model_args.gpt_start_text_token = tokenizer.token_to_id("[START]")
    config.model_args.gpt_stop_text_token = tokenizer.token_to_id("[STOP]")
    assert config.model_args.gpt_number_text_tokens == TEXT_TOKENS
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Xtts(config)
        with torch.no_grad():  # random weights never choose to stop: make sure they cannot, the cap decides
            model.gpt.mel_head.bias[config.model_args.gpt_stop_audio_token] = -1e4
        dim = config.model_args.gpt_n_model_channels
        speakers = {
            SPEAKER: {
                "gpt_cond_latent": torch.randn(1, 32, dim),
                "speaker_embedding": torch.nn.functional.normalize(
                    torch.randn(1, config.model_args.d_vector_dim), dim=1
                ).unsqueeze(-1),
            }
        }
    config.save_json(str(folder / "config.json"))
    torch.save(speakers, folder / "speakers_xtts.pth")
    torch.save({"model": model.state_dict()}, folder / "model.pth.part")
    (folder / "model.pth.part").replace(folder / "model.pth")  # complete or absent
    return folder


def cap(engine: Any, text: str) -> int:
    """Fix the audio tokens ``text`` makes: TOKENS_PER_CHAR a character (the stand-in never stops)."""
    gpt = engine._model.gpt  # the loaded Xtts, shared by every voice on this device
    tokens = max(2, min(round(TOKENS_PER_CHAR * len(text)), 602))  # 602: xtts_v2's own ceiling
    gpt.max_gen_mel_tokens = tokens
    return tokens


def run(folder: Path, device: str, precision: str) -> dict[str, Any]:
    from voxcli.engines import VoiceProfile, load_engine, speak
    from voxcli.engines.coqui import CoquiOptions
    from voxcli.engines.streams import chunks_as_made

    options = CoquiOptions(
        model_dir=str(folder), speaker=SPEAKER, retries=0, precision=precision, stream_tokens=STREAM_TOKENS
    )
    profile = VoiceProfile(name="standin", engine="coqui", voice="xtts_v2", options=options)
    start = time.perf_counter()
    engine = load_engine(profile, device)
    load = time.perf_counter() - start
    cap(engine, "Warm up.")
    speak(engine, "Warm up.")
    rows = []
    for text in SENTENCES:
        tokens = cap(engine, text)
        start = time.perf_counter()
        spoken = speak(engine, text)
        whole = time.perf_counter() - start
        start = time.perf_counter()
        first, pieces, samples = 0.0, 0, 0
        for chunk in chunks_as_made(engine, text):
            first = first or time.perf_counter() - start
            pieces, samples = pieces + 1, samples + len(chunk.samples)
        streamed = time.perf_counter() - start
        rows.append(
            {
                "chars": len(text),
                "audio_tokens": tokens,
                "audio_seconds": round(spoken.duration, 2),
                "whole_seconds": round(whole, 2),
                "streamed_first_audio_seconds": round(first, 2),
                "streamed_seconds": round(streamed, 2),
                "streamed_pieces": pieces,
                "streamed_audio_seconds": round(samples / engine.sample_rate, 2),
            }
        )
    engine.close()
    chars = sum(row["chars"] for row in rows)
    seconds = sum(row["whole_seconds"] for row in rows)
    audio = sum(row["audio_seconds"] for row in rows)
    return {
        "device": device,
        "precision": precision,
        "load_seconds": round(load, 2),
        "chars": chars,
        "audio_seconds": round(audio, 2),
        "whole_seconds": round(seconds, 2),
        "chars_per_second": round(chars / seconds, 2),
        "real_time_factor": round(seconds / audio, 3),
        "first_audio_whole_seconds": round(sum(r["whole_seconds"] for r in rows) / len(rows), 2),
        "first_audio_streamed_seconds": round(
            sum(r["streamed_first_audio_seconds"] for r in rows) / len(rows), 2
        ),
        "streamed_chars_per_second": round(chars / sum(r["streamed_seconds"] for r in rows), 2),
        "sentences": rows,
    }


def table(results: dict[str, Any]) -> str:
    lines = [
        "| device | precision | chars/s (whole) | real-time factor | first audio, whole (s) "
        "| first audio, streamed (s) | chars/s (streamed) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results["runs"]:
        lines.append(
            f"| {r['device']} | {r['precision']} | {r['chars_per_second']} | {r['real_time_factor']} "
            f"| {r['first_audio_whole_seconds']} | {r['first_audio_streamed_seconds']} "
            f"| {r['streamed_chars_per_second']} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    import torch

    def arg(name: str) -> str | None:
        return argv[argv.index(name) + 1] if name in argv else None

    os.environ.setdefault("COQUI_TOS_AGREED", "1")  # the stand-in is not Coqui's model: no CPML to accept
    if arg("--threads"):
        torch.set_num_threads(int(str(arg("--threads"))))
    load_average = [round(x, 2) for x in os.getloadavg()]
    folder = Path(arg("--standin") or default_folder())
    built = None
    if not (folder / "model.pth").is_file():
        start = time.perf_counter()
        build_standin(folder)
        built = round(time.perf_counter() - start, 1)
    devices = (
        [arg("--device")] if arg("--device") else ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]
    )
    runs = [
        run(folder, device, precision)
        for device in devices
        for precision in (["fp32", "fp16"] if str(device).startswith("cuda") else ["fp32"])
    ]
    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, {os.uname().machine}"
        + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""),
        "model": "random-weight stand-in with xtts_v2's published shapes (not the real checkpoint)",
        "parameters": sum(p.numel() for p in torch.load(folder / "model.pth", mmap=True)["model"].values()),
        "audio_tokens_per_char": round(TOKENS_PER_CHAR, 3),
        "stream_tokens": STREAM_TOKENS,
        "torch_threads": torch.get_num_threads(),
        "load_average_before": load_average,
        "build_seconds": built,
        "runs": runs,
    }
    (REPO / "bench" / "results-xtts.json").write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
