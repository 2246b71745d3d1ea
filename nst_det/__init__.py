"""nst_det: Neuron Selectivity Transfer for backbones and MMDetection detectors.

Importing the package imports nothing else: ``from nst_det.losses import nst_loss`` needs torch alone.
Configs register everything with ``custom_imports=dict(imports=['nst_det.register_all'])``. A config
that names ``'nst_det'`` itself is imported by mmengine's config loader, so then mmengine is already
loaded and the registrations are made too.
"""
import sys

__version__ = "0.1.0"

if "mmengine.config" in sys.modules:  # imported by an mmengine config's custom_imports
    from nst_det import register_all  # noqa: F401
