"""The package layers: torch-only losses, a utils/ layer that registers nothing, modules of bounded size."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nst_det"
MAX_LINES = 400


@pytest.mark.slow
def test_the_losses_import_with_torch_alone():
    code = ("import sys; from nst_det.losses import nst_loss, NSTLoss, kd_loss, ATLoss, FitNetLoss, PKDLoss, CWDLoss; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('mmdet', 'mmengine', 'mmcv')); "
            "assert not bad, bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
def test_importing_the_package_registers_nothing_register_all_everything():
    """One place registers (``nst_det.register_all``): importing ``nst_det`` does not, even after mmengine's config
    loader (the package once registered conditionally when mmengine.config was loaded)."""
    code = ("import mmengine.config; import nst_det; from mmdet.registry import HOOKS, MODELS; "
            "assert MODELS.get('ClassifierDistiller') is None and MODELS.get('NSTLoss') is None; "
            "import nst_det.register_all; "
            "assert MODELS.get('ClassifierDistiller') and MODELS.get('PKDLoss') and HOOKS.get('DistillStateHook')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_utils_imports_no_registry_and_registers_nothing():
    for path in sorted((PACKAGE / "utils").glob("*.py")):
        imports = _imports(path)
        assert not {"nst_det.registry", "mmdet.registry", "mmengine.registry"} & imports, path
        text = path.read_text()
        assert "register_module" not in text and "register_backend" not in text and "register_scheme" not in text, path


def test_no_module_is_over_the_size_limit():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > MAX_LINES} == {}
