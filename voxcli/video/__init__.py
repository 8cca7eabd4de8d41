"""Audiobooks as MP4 videos: the narration over the cover (or title cards), with chapters and subtitles."""

from __future__ import annotations

from voxcli.video.frames import SubtitleStyle
from voxcli.video.mp4 import Section, VideoSettings, video_encoder_problem, write_mp4

__all__ = ["Section", "SubtitleStyle", "VideoSettings", "video_encoder_problem", "write_mp4"]
