"""The tree stays clean under pyproject.toml's [tool.ruff] (pyflakes, pycodestyle, import order, bugbear)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_ruff_finds_nothing():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is not installed (requirements.txt)"
    result = subprocess.run([ruff, "check", "--output-format", "concise", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


# what no user has: the development machines' shared notes and prebuilt wheels (spelled in two parts so that
# this file does not mention them itself)
OUTSIDE = ("../" + "shared", "." + "devwheels")
PROJECT_ENTRIES = ("README.md", "BENCHMARKS.md", "requirements.txt", "requirements", "pyproject.toml", ".gitignore",
                   ".ci", "configs", "nst_det", "scripts", "tests", "tools")


def _mentions(paths) -> list[str]:
    found = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary test data
        found += [f"{path.relative_to(ROOT)}: {word}" for word in OUTSIDE if word in text]
    return found


def test_no_project_file_points_outside_the_repository():
    files = []
    for entry in map(ROOT.joinpath, PROJECT_ENTRIES):
        files += [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()
                                                  and "__pycache__" not in p.parts]
    assert _mentions(files) == []


@pytest.mark.slow
def test_no_tracked_file_points_outside_the_repository():
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    assert _mentions([ROOT / name for name in listed.stdout.split("\0") if name]) == []
