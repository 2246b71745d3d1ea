"""Helpers only the tools use, kept out of the ``nst_det`` library (as torchvision's ``references/`` keeps its
``utils.py`` beside the scripts): the benchmark harness (``benchmark.py``: ``tools/benchmark_det.py``,
``tools/benchmark_pretrain.py``), the demo's steps (``steps.py``) and its report (``document.py``,
``demo_report.py``: ``tools/run_demo.py``). A tool runs with ``tools/`` on ``sys.path``, so it imports them as
``from _lib.steps import ...``; the tests put ``tools/`` on ``sys.path`` too (``tests/conftest.py``).
"""
