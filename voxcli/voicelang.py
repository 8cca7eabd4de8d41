"""Which voice speaks which language: voices.toml's ``[languages]`` map, eSpeak-NG's own voices for
``"*" = "espeak"``, and the choice of a book's narrator by its language.

Nothing here loads a model: eSpeak-NG's voices are read from its data folder's ``lang`` files.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from voxcli.book import primary, same_language
from voxcli.config import VoicesFile, resolve_voice
from voxcli.engines.base import VoiceProfile
from voxcli.text.languages import fallbacks

WILDCARD = "*"
# Where a book's language came from, as the warnings say it.
SOURCES = {"--lang": "--lang", "metadata": "its metadata", "detected": "its text", "unknown": "its metadata"}


@dataclass(frozen=True)
class Mapped:
    """A voice for a language, and why it is that one (for the manifest and ``voices list``)."""

    profile: VoiceProfile
    why: str


@dataclass(frozen=True)
class BookLanguage:
    """The language a book is read in, where it came from, and its narrator."""

    lang: str  # BCP 47 tag, "" when unknown
    source: str  # "--lang", "metadata", "detected" or "unknown"
    profile: VoiceProfile
    why: str  # why this narrator
    confidence: float | None = None  # of the detection, when detected

    def record(self) -> dict[str, Any]:
        """The manifest's account of it."""
        found: dict[str, Any] = {
            "lang": self.lang,
            "source": self.source,
            "voice": self.profile.name,
            "why": self.why,
        }
        if self.confidence is not None:
            found["confidence"] = round(self.confidence, 3)
        return found


def espeak_data() -> Path | None:
    """eSpeak-NG's data folder: the espeakng-loader wheel's, else the system's."""
    from voxcli.engines.espeak import bundled_library

    bundled = bundled_library()
    if bundled is not None:
        return Path(bundled[1])
    import sysconfig

    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    for folder in (
        f"/usr/lib/{multiarch}/espeak-ng-data",
        "/usr/lib/espeak-ng-data",
        "/usr/share/espeak-ng-data",
    ):
        if Path(folder, "lang").is_dir():
            return Path(folder)
    return None


@lru_cache(maxsize=4)
def _espeak_languages(data: Path | None) -> dict[str, str]:
    """Language tag (lower case) -> eSpeak-NG voice name, from the ``language`` lines of its voice
    files; where several voices claim a tag, the one that ranks it first (lowest priority number)."""
    found: dict[str, tuple[int, str]] = {}
    if data is None or not (data / "lang").is_dir():
        return {}
    for path in sorted((data / "lang").rglob("*")):
        if not path.is_file():
            continue
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            words = line.split()
            if len(words) >= 2 and words[0] == "language":
                tag = words[1].lower().replace("_", "-")
                rank = int(words[2]) if len(words) > 2 and words[2].isdigit() else 5
                if tag not in found or rank < found[tag][0]:
                    found[tag] = (rank, path.name)
    return {tag: name for tag, (_, name) in found.items()}


def espeak_languages() -> dict[str, str]:
    """Language tag (lower case) -> the eSpeak-NG voice that speaks it ({} without eSpeak-NG)."""
    return _espeak_languages(espeak_data())


def espeak_voice(lang: str) -> str | None:
    """eSpeak-NG's voice for ``lang`` (or the language it falls back to), None if it has none."""
    known = espeak_languages()
    return next((known[tag] for tag in fallbacks(lang) if tag in known), None)


def espeak_profile(voice: str, lang: str, voices: VoicesFile) -> VoiceProfile:
    found = resolve_voice(f"espeak:{voice}", voices)
    from dataclasses import replace

    return replace(found, lang=lang)


def mapped_voice(lang: str, voices: VoicesFile) -> Mapped | None:
    """The voice voices.toml's [languages] gives ``lang``: its own entry, else its base language's
    (en-gb -> en), else eSpeak-NG's voice of it when ``"*" = "espeak"``; None when there is none."""
    table = voices.languages
    for tag in fallbacks(lang):
        if tag in table:
            return Mapped(
                resolve_voice(table[tag], voices), f"[languages] {tag} = {table[tag]!r} in {voices.label}"
            )
    if table.get(WILDCARD) == "espeak":
        voice = espeak_voice(lang)
        if voice is not None:
            return Mapped(
                espeak_profile(voice, lang, voices),
                f'eSpeak-NG\'s {voice} voice ([languages] "*" = "espeak" in {voices.label})',
            )
    return None


def narrator(lang: str, source: str, voices: VoicesFile) -> tuple[BookLanguage, str | None]:
    """The narrator when no voice is named: the voice mapped to the book's language, else the default
    voice; and a warning when the default voice speaks another language than the book."""
    default = resolve_voice(None, voices)
    if not lang:
        return BookLanguage("", source, default, "the default voice (the book's language is unknown)"), None
    found = mapped_voice(lang, voices)
    if found is not None:
        return BookLanguage(lang, source, found.profile, found.why), None
    if same_language(default.lang, lang):
        return BookLanguage(lang, source, default, f"the default voice speaks {default.lang}"), None
    chosen = BookLanguage(lang, source, default, f"no voice for {lang} in {voices.label}: the default voice")
    said = SOURCES.get(source, source)
    wildcard = (
        f" (eSpeak-NG has no {primary(lang)} voice)"
        if voices.languages.get(WILDCARD) == "espeak"
        else ' or "*" = "espeak"'
    )
    return chosen, (
        f"no voice speaks {lang} (the book's language, from {said}) in {voices.label}: reading it "
        f"with '{default.name}' ({default.lang}); add [languages] {primary(lang)} = \"VOICE\"{wildcard} "
        f"to {voices.label}, or pass -v"
    )


def mismatch(profile: VoiceProfile, lang: str, source: str) -> str | None:
    """The warning for a named voice whose language is not the book's (None when they agree)."""
    if not lang or same_language(profile.lang, lang):
        return None
    said = SOURCES.get(source, source)
    return (
        f"voice '{profile.name}' speaks {profile.lang} but the book is in {lang} (from {said}): "
        f"pass -v with a voice for {primary(lang)} (voxcli voices list --lang {primary(lang)}), "
        f"or --lang {primary(profile.lang)} if the book's language is wrong"
    )


def voices_for(lang: str, voices: VoicesFile) -> tuple[dict[str, VoiceProfile], str | None]:
    """The voices that speak ``lang``: the one voices.toml maps to it (its name, or None) first, then
    every profile of that language."""
    found: dict[str, VoiceProfile] = {}
    hit = mapped_voice(lang, voices)
    if hit is not None:
        found[hit.profile.name] = hit.profile
    for name, profile in voices.profiles.items():
        if same_language(profile.lang, lang):
            found.setdefault(name, profile)
    return found, hit.profile.name if hit is not None else None
