# Runtime shared by the ImageNet-stage configs (mmengine Runner).
default_scope = 'mmdet'
custom_imports = dict(imports=['nst_det.register_all'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # atomic writes: a killed run never leaves a half-written epoch_N.pth or last_checkpoint
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3, save_last=True,
                    backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
custom_hooks = [
    dict(type='FreeSpaceHook'),           # refuse to start if the work dir cannot hold a checkpoint
    dict(type='NonFiniteLossHook'),       # NaN/Inf loss: stop, name the term, keep the last good checkpoint
    dict(type='PlainCheckpointHook'),     # checkpoints load with torch.load(weights_only=True)
    dict(type='TeacherAccuracyHook'),     # the teacher's top-1/top-5 on val, once; stop if near chance (below)
    dict(type='ExportBackboneHook'),      # <work_dir>/backbone_<arch>.pth + .json at the end
    dict(type='DistillStateHook'),        # <work_dir>/distill.json; adapters saved beside, not in, the student
    dict(type='IterationSeedHook'),       # reseed per iteration: a resumed run draws what the uninterrupted one would
]
# The teacher's top-1 near chance (within 3 binomial standard deviations of 100/num_classes %, or below min_top1
# when given) stops the run before training: a teacher that did not load. teacher_check = False skips the stop.
teacher_check = dict(min_top1=None)

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),        # tools switch to gloo when no GPU is present
)
vis_backends = [dict(type='LocalVisBackend')]   # scalars.json: curves for tools/compare_runs.py
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
