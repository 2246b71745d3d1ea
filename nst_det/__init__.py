"""nst_det: Neuron Selectivity Transfer for backbones and MMDetection detectors."""

__version__ = "0.1.0"
