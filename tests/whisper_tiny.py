"""A tiny random Whisper model in CTranslate2's format, as faster-whisper loads one from a folder.

The real models (Systran/faster-whisper-*) cannot be downloaded here; this one has their shape where
it matters to the loading code: the full multilingual vocabulary (51,865 tokens, as large-v2: byte-level text
tokens, the special and language tokens in Whisper's order, 1,501 timestamps), 80 mel bins, 30-second
windows. Its weights are random, so what it "hears" is noise; tests use it to show the real loading,
transcription and reporting path, never to judge audio.
"""

from __future__ import annotations

import json
from pathlib import Path

from faster_whisper.tokenizer import _LANGUAGE_CODES

TEXT_TOKENS = 50257  # Whisper's multilingual text vocabulary
# faster-whisper's own list of Whisper's languages, less Cantonese (added by large-v3): large-v2's 99.
LANGUAGES = [code for code in _LANGUAGE_CODES if code != "yue"]
TAIL = [
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
    "<|notimestamps|>",
]
TIMESTAMPS = 1501


def _byte_symbols() -> list[str]:
    """GPT-2's printable stand-ins for the 256 byte values (what byte-level BPE vocabularies hold)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    symbols, extra = [], 0
    for byte in range(256):
        if byte in printable:
            symbols.append(chr(byte))
        else:
            symbols.append(chr(256 + extra))
            extra += 1
    return symbols


def make_tiny_whisper(folder: Path) -> Path:
    """Write the model to ``folder`` (model.bin, config.json, vocabulary, tokenizer.json); returns it."""
    import tempfile

    import torch
    from ctranslate2.converters import TransformersConverter
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, WhisperConfig, WhisperForConditionalGeneration

    symbols = _byte_symbols()
    vocab = {s: i for i, s in enumerate(symbols)}
    vocab.update({f"<|filler{i}|>": i for i in range(len(symbols), TEXT_TOKENS - 1)})
    # The multilingual vocabulary's last text token is the empty string: CTranslate2 calls a Whisper
    # model multilingual when its vocabulary has it.
    vocab[""] = TEXT_TOKENS - 1
    specials = ["<|endoftext|>", "<|startoftranscript|>", *(f"<|{code}|>" for code in LANGUAGES), *TAIL]
    for token in specials:
        vocab[token] = len(vocab)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(specials)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        additional_special_tokens=specials[2:],
    )
    ids = {token: vocab[token] for token in specials}
    config = WhisperConfig(
        vocab_size=len(vocab) + TIMESTAMPS,
        num_mel_bins=80,
        d_model=64,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        max_source_positions=1500,
        max_target_positions=448,
        pad_token_id=ids["<|endoftext|>"],
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|endoftext|>"],
        decoder_start_token_id=ids["<|startoftranscript|>"],
        suppress_tokens=[],
        begin_suppress_tokens=[220, ids["<|endoftext|>"]],
    )
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    with torch.no_grad():  # make it end every transcript soon: random weights would babble to the limit
        final = model.model.decoder.layer_norm
        final.weight.zero_()
        final.bias.zero_()
        final.bias[0] = 1.0
        model.model.decoder.embed_tokens.weight[ids["<|endoftext|>"], 0] = 8.0
    with tempfile.TemporaryDirectory() as scratch:
        model.save_pretrained(scratch)
        fast.save_pretrained(scratch)
        TransformersConverter(scratch).convert(str(folder), quantization="int8", force=True)
    tokenizer.save(str(folder / "tokenizer.json"))
    # What makes the model multilingual to CTranslate2: the language token ids, as in the config.json of
    # Systran's converted models (the converter finds none in a random checkpoint's generation config).
    settings = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    settings["lang_ids"] = [ids[f"<|{code}|>"] for code in LANGUAGES]
    (folder / "config.json").write_text(json.dumps(settings), encoding="utf-8")
    (folder / "preprocessor_config.json").write_text(
        json.dumps(
            {"feature_size": 80, "sampling_rate": 16000, "hop_length": 160, "chunk_length": 30, "n_fft": 400}
        ),
        encoding="utf-8",
    )
    return folder
