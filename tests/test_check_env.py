"""``python -m nst_det.check``: what an existing environment lacks, one line each; and the documented path of
installing nst_det into it (``pip install -e . --no-deps`` beside an existing mmdet 3.3 / mmcv 2.1 / mmengine 0.10)."""
from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from tooling import ROOT, tool_env

from nst_det import check


def lines_of() -> tuple[bool, list[str]]:
    out: list[str] = []
    return check.run_checks(out.append), out


def test_this_environment_passes():
    ok, lines = lines_of()
    assert ok and lines[-1] == "environment ok"
    assert any(line.startswith("ok       mmcv ops nms, RoIAlign on the CPU") for line in lines)


@pytest.mark.parametrize("package, version, expected", [
    ("mmcv", "2.2.0", "MISMATCH mmcv 2.2.0: needs >=2.0,<2.2"),
    ("mmdet", "3.2.0", "MISMATCH mmdet 3.2.0: needs 3.3.x"),
    ("mmengine", "0.9.1", "MISMATCH mmengine 0.9.1: needs 0.10.x"),
    ("setuptools", "82.0.0", "MISMATCH setuptools 82.0.0: needs <82"),
    ("mmdet", None, "MISSING  mmdet: not installed; needs 3.3.x (tested: 3.3.0): pip install mmdet==3.3.0"),
])
def test_a_missing_or_mismatched_package_is_one_line_and_fails(monkeypatch, package, version, expected):
    real = check.installed_version
    monkeypatch.setattr(check, "installed_version", lambda name: version if name == package else real(name))
    ok, lines = lines_of()
    assert not ok and lines[-1] == "1 problem(s): see the lines above"
    assert [line for line in lines if line.startswith(("MISSING", "MISMATCH"))] == [
        next(line for line in lines if line.startswith(expected))]


def test_mmcv_without_compiled_ops_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "mmcv.ops", None)  # as an mmcv installed without MMCV_WITH_OPS=1 imports
    ok, lines = lines_of()
    assert not ok
    assert any(line.startswith("BROKEN   mmcv ops (mmcv._ext)") and "MMCV_WITH_OPS=1" in line for line in lines)


@pytest.mark.slow
def test_pip_install_editable_no_deps_beside_an_existing_install(tmp_path):
    """A fresh venv that sees an existing torch/mmcv/mmdet/mmengine install (this one's site-packages, through a
    .pth file; pip and setuptools>=77 come from there too), ``pip install --no-deps --no-build-isolation -e .``
    (no network), then ``python -m nst_det.check`` from another folder (about 30 s)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "existing_install.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in tool_env().items() if k != "PYTHONPATH"}
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-e",
                              str(ROOT)], capture_output=True, text=True, env=env, timeout=600)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    result = subprocess.run([str(python), "-m", "nst_det.check"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert f"nst_det 0.1.0 ({ROOT})" in result.stdout and result.stdout.strip().endswith("environment ok")
