"""Text for speech: normalisation, sentences and pieces within an engine's limit, languages."""
