"""nst_det: Neuron Selectivity Transfer for backbones and MMDetection detectors.

Importing the package imports nothing else and registers nothing: ``from nst_det.losses import nst_loss``
needs torch alone. Registration happens in one place, :mod:`nst_det.register_all`, which configs name
(``custom_imports=dict(imports=['nst_det.register_all'])``) and the tools import.
"""
__version__ = "0.1.0"
