"""Run the voxcli command line with the test engines registered: ``python tests/voxcli_with_fakes.py ...``.

For tests that need a real process (signals, resource limits) and a fast, deterministic engine.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voxcli import engines

engines.BUILTIN["fake"] = "tests.fake_engine:FakeEngine"
engines.BUILTIN["missing"] = "tests.fake_engine:MissingEngine"
engines.BUILTIN["recording"] = "tests.fake_engine:RecordingEngine"

if __name__ == "__main__":  # convert --jobs starts workers that import this file again
    from voxcli.cli import main

    main()
