"""The fast loop (``pytest -m "not slow"``) starts no processes: the guard in conftest.py refuses them."""
from __future__ import annotations

import subprocess
import sys

import pytest


def test_a_fast_test_cannot_start_a_process():
    with pytest.raises(AssertionError, match="starts a process .*mark it @pytest.mark.slow"):
        subprocess.run([sys.executable, "-c", "pass"], check=True)


@pytest.mark.slow
def test_a_slow_test_can():
    assert subprocess.run([sys.executable, "-c", "pass"]).returncode == 0
