"""The serving process's garbage collector (core/runtime.py)."""

import subprocess
import sys


def test_a_worker_freezes_the_app_and_collects_the_young_less_often():
    code = (
        "import gc, os;"
        "os.environ.setdefault('DEBUG', '1');"
        "import fengming_portal.wsgi;"
        "print(gc.get_threshold()[0], gc.get_freeze_count() > 0)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    from core.runtime import GC_THRESHOLDS

    assert shown == [str(GC_THRESHOLDS[0]), "True"]
