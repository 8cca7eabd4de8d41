"""Pronunciation lexicons: the user's lexicon.toml files, the book's PLS and SSML, applied per engine."""
