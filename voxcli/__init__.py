"""voxcli: turn books into audiobooks with in-process neural text-to-speech."""

__version__ = "0.1.0"
