# Demo: the NST backbone, plus NST on all five FPN levels from the frozen demo R-34-FPN teacher.
_base_ = './faster_rcnn_nst_backbone_only_demo.py'

teacher_config = '{{ fileDirname }}/faster_rcnn_r34_teacher_demo.py'
# the work dir of `tools/train_det.py configs/demo/faster_rcnn_r34_teacher_demo.py`: a folder means
# the checkpoint its last_checkpoint file names (a checkpoint file works too)
teacher_checkpoint = 'work_dirs/faster_rcnn_r34_teacher_demo'

model = dict(
    _delete_=True,
    type='NSTDistillDetector',
    student={{_base_.model}},
    teacher_cfg=teacher_config,
    teacher_ckpt=teacher_checkpoint,
    nst=dict(
        levels=('p2', 'p3', 'p4', 'p5', 'p6'),
        level_weights=None,
        warmup_iters=50,
        loss=dict(type='NSTLoss', kernel='poly', loss_weight=50.0)))
