"""Audio out: WAV/MP3 encoding, loudness, subtitles, tags, covers and M4B audiobooks."""
