"""Run a benchmark's body in a fresh interpreter, so that its peak RSS and its
imports are its own; the body prints one JSON object as its last line."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def in_fresh_process(code: str, quiet_warnings: bool = False) -> dict:
    env = dict(os.environ, PYTHONWARNINGS="ignore") if quiet_warnings else None
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])
