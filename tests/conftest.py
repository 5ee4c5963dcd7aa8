"""Test-wide setup: `tests/` on sys.path, so that test modules can `import strategies`
(the hypothesis strategies for random recipes) under pytest's importlib import mode."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
