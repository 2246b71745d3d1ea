"""The one checkpoint reader as mmengine's loader for local files (``load_from``, ``resume``, ``Pretrained``)."""
from mmengine.runner.checkpoint import CheckpointLoader

from nst_det.utils.checkpoint import load_from_local

# mmengine logs the loader as f"{name[10:]} backend": keep mmengine's own name for local files
CheckpointLoader.register_scheme(prefixes="", loader=load_from_local, force=True)
