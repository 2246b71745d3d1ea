# Demo: the NST backbone, plus NST on the FPN levels P2-P5 from the frozen demo R-34-FPN teacher.
_base_ = './faster_rcnn_nst_backbone_only_demo.py'

teacher_config = '{{ fileDirname }}/faster_rcnn_r34_teacher_demo.py'
# the work dir of `tools/train_det.py configs/demo/faster_rcnn_r34_teacher_demo.py`: a folder means
# the checkpoint its last_checkpoint file names (a checkpoint file works too)
teacher_checkpoint = 'work_dirs/faster_rcnn_r34_teacher_demo'

model = dict(
    _delete_=True,
    type='NSTDistillDetector',
    student={{_base_.model}},
    teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint),
    distill=dict(
        taps=('p2', 'p3', 'p4', 'p5'),  # P6 is a strided copy of P5: see ../faster_rcnn_nst.py
        level_weights=None,
        warmup_iters=50,  # the demo schedule's linear LR warm-up length (../_base_/det_demo_voc.py)
        loss=dict(type='NSTLoss', kernel='poly', loss_weight=50.0)))
