"""Voices to propose for a cast: distinct, usable here, the narrator's engine first."""

from __future__ import annotations

from voxcli.config import VoicesFile
from voxcli.engines import voice_problem
from voxcli.engines.base import VoiceProfile

# eSpeak-NG variants: distinct voices that need nothing more than eSpeak-NG itself.
ESPEAK_VARIANTS = (
    "en-us+m3",
    "en-gb+f3",
    "en-us+m7",
    "en-gb+m4",
    "en-us+f2",
    "en-gb+m2",
    "en-us+f4",
    "en-gb",
)


def candidate_voices(voices: VoicesFile, narrator: VoiceProfile) -> list[str]:
    """Voice names for characters, best first: the profiles of voices.toml that can speak here (the
    narrator's engine first), then eSpeak-NG variants as ``espeak:VOICE``."""
    usable = [
        (profile.engine != narrator.engine, name)
        for name, profile in voices.profiles.items()
        if name != narrator.name and voice_problem(profile, cached=True) is None
    ]
    names = [name for _, name in sorted(usable)]
    if narrator.lang.lower().startswith("en"):
        espeak = VoiceProfile(name="espeak", engine="espeak", voice="en-us")
        if voice_problem(espeak, cached=True) is None:
            names += [f"espeak:{variant}" for variant in ESPEAK_VARIANTS]
    return names
