# What every detection config adds to a stock mmdet config. Only keys that no stock mmdet config
# defines, so this file is a sibling base of ANY stock detector config (Faster/Cascade R-CNN, RetinaNet,
# FCOS, YOLOX, RTMDet, ...):
#     _base_ = ['mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py', './_base_/det_runtime.py']
# Configs also set default_hooks.checkpoint.backend_args=dict(backend='atomic_local') themselves
# (default_hooks exists in the stock runtime, so it cannot be defined in a sibling base).
custom_imports = dict(imports=['nst_det.register_all'], allow_failed_imports=False)
# The project's hooks. Not `custom_hooks`, which stock configs define (YOLOX, RTMDet: EMA, mode switch) and
# two bases may not both define: tools/train_det.py and tools/test_det.py append these to the config's
# custom_hooks (nst_det/engine/runtime.py), and so does this runner, which mmdet's own tools/train.py and
# tools/test.py build when a config names it.
runner_type = 'mmdet.NSTDetRunner'  # scoped: mmdet's tools/train.py builds from mmengine's root RUNNERS
nst_det_hooks = [
    dict(type='FreeSpaceHook'),        # refuse to start if the work dir cannot hold a checkpoint
    dict(type='NonFiniteLossHook'),    # NaN/Inf loss: stop, name the term, keep the last good checkpoint
    dict(type='DistillDivergenceHook'),  # FPN distillation collapsing the detector: stop, name the term and weight
    dict(type='PlainCheckpointHook'),  # checkpoints load with torch.load(weights_only=True)
    dict(type='BackboneCheckHook'),    # stop if the backbone file does not cover the backbone
    dict(type='DistillStateHook'),     # <work_dir>/distill.json; adapters saved beside, not in, the student
    dict(type='IterationSeedHook'),    # reseed per iteration: a resumed run draws what the uninterrupted one would
    dict(type='RuntimeSwitchesHook'),  # under a stock tool, say which of the switches below were not applied
    dict(type='TeacherCheckHook'),     # a distiller's teacher evaluated once before training (teacher_check below)
]
# The teacher detector's mAP on the first max_images val images, logged before distillation starts; below min_map
# the run stops (a teacher that did not load, or fits another dataset). teacher_check = False skips the check.
teacher_check = dict(max_images=500, min_map=0.01)
# Switches tools/train_det.py and tools/test_det.py apply (nst_det/engine/runtime.py):
checked_image_loading = True  # LoadImageFromFile -> CheckedLoadImageFromFile: truncated/undecodable images named
seed_per_sample = True        # training augmentation seeded by (seed, epoch, index): exact resume
# Up-front dataset check (nst_det/det/datasets.py): VOC annotations without objects, or with class
# names the dataset does not have, are errors unless allowed here
data_check = dict(allow_images_without_objects=False, allow_unknown_classes=False)
