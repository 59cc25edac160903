"""The insights computations are pure: importing them pulls in no Django (so tasks, benchmarks and the
NLP side can reuse them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import voxloop

PACKAGE_DIR = str(Path(voxloop.__file__).parent)


def test_insights_modules_never_import_django():
    # A bare stand-in for the voxloop package skips its __init__ (which starts Celery, Django's business)
    # while still importing voxloop.stats.* and what they import from real files.
    code = (
        "import sys, types; pkg = types.ModuleType('voxloop'); "
        f"pkg.__path__ = [{PACKAGE_DIR!r}]; sys.modules['voxloop'] = pkg; "
        "import voxloop.stats.anomaly, voxloop.stats.pareto, voxloop.stats.drivers, "
        "voxloop.stats.segments, voxloop.stats.effects, voxloop.stats.compare; "
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
