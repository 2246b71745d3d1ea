"""The package layers: mmengine only in the engine, the two stages and the registry; torch-only losses; a utils/
layer that registers nothing; modules of bounded size."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nst_det"
MAX_LINES = 400
STACK = ("mmengine", "mmdet", "mmcv")  # mmdet and mmcv import mmengine: any of them brings it in
SPEAKS_MMENGINE = ("engine", "det", "pretrain", "registry.py", "register_all.py")  # package parts allowed the stack
# python -m nst_det.check imports each package of the stack to test that it imports; mmcv's ops it calls by name
ENVIRONMENT_CHECK = ("check.py", "mmcv.ops")
# modules below the engine, imported in a fresh interpreter: none may load the stack, even indirectly
WITHOUT_MMENGINE = ["nst_det.seeding", "nst_det.taps", "nst_det.sidecar", "nst_det.distill", "nst_det.losses",
                    "nst_det.data", "nst_det.reporting", "nst_det.check",
                    *sorted(f"nst_det.utils.{path.stem}" for path in (PACKAGE / "utils").glob("*.py")
                            if path.stem != "__init__")]


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
    """Every module ``path`` imports, anywhere in it (functions included): ``import``/``from`` statements and
    ``importlib.import_module`` / ``__import__`` calls with a literal name."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)):
            names.add(str(node.args[0].value))
    return names


def stack_imports(path: Path) -> list[str]:
    """The modules of mmengine, mmdet or mmcv that ``path`` imports."""
    return sorted(name for name in _imports(path) if name.split(".")[0] in STACK)


def test_mmengine_is_imported_only_by_the_engine_the_stages_and_the_registry():
    """utils/, losses/, taps, distill/ (its core builds losses through ``nst_det.registry``), data/, reporting/ ...
    need no mmengine: the mmengine glue lives in engine/, the mmdet-facing models in det/ and pretrain/."""
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in SPEAKS_MMENGINE:
            continue
        found = [name for name in stack_imports(path) if (str(relative), name) != ENVIRONMENT_CHECK]
        if found:
            offenders[str(relative)] = found
    assert offenders == {}


def test_the_layer_rule_sees_every_kind_of_import(tmp_path):
    """The rule above fails on a top-level, a lazy and a dynamic import alike."""
    for code, name in [("import mmengine\n", "mmengine"),
                       ("def f():\n    from mmengine.logging import print_log\n", "mmengine.logging"),
                       ("import importlib\nimportlib.import_module('mmdet.apis')\n", "mmdet.apis"),
                       ("import torch.nn\n", None)]:
        (tmp_path / "module.py").write_text(code)
        assert stack_imports(tmp_path / "module.py") == ([name] if name else []), code


@pytest.mark.slow
def test_the_layers_below_the_engine_import_without_mmengine():
    """Imported in a fresh interpreter, no module below the engine loads mmengine, mmdet or mmcv, even indirectly."""
    code = (f"import importlib, sys\nfor m in {WITHOUT_MMENGINE!r}:\n    importlib.import_module(m)\n"
            f"    bad = sorted({{n.split('.')[0] for n in sys.modules}} & set({STACK!r}))\n"
            "    assert not bad, f'importing {m} loads {bad}'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_utils_imports_no_registry_and_registers_nothing():
    for path in sorted((PACKAGE / "utils").glob("*.py")):
        imports = _imports(path)
        assert not {"nst_det.registry", "mmdet.registry", "mmengine.registry"} & imports, path
        text = path.read_text()
        assert "register_module" not in text and "register_backend" not in text and "register_scheme" not in text, path


def test_no_module_is_over_the_size_limit():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > MAX_LINES} == {}
