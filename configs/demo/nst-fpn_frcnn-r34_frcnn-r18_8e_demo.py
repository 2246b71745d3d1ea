# Demo. Teacher: the demo Faster R-CNN R-34-FPN (faster_rcnn_r34_teacher_demo.py, frozen). Student: Faster R-CNN
# R-18-FPN from the demo NST backbone. NST on FPN P2-P5 (../_base_/nst_fpn_distill.py). Dataset: the generated
# demo VOC data. Schedule: 8 epochs, batch 4, 50-iteration warm-up (../_base_/det_demo_voc.py).
# Old name: faster_rcnn_nst_demo.py.
_base_ = ['./faster_rcnn_nst_backbone_only_demo.py', '../_base_/nst_fpn_distill.py']

teacher_config = '{{ fileDirname }}/faster_rcnn_r34_teacher_demo.py'
# the work dir of `tools/train_det.py configs/demo/faster_rcnn_r34_teacher_demo.py`: a folder means
# the checkpoint its last_checkpoint file names (a checkpoint file works too)
teacher_checkpoint = 'work_dirs/faster_rcnn_r34_teacher_demo'

model = dict(_base_.nst_fpn, _delete_=True, student={{_base_.model}},
             teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint),
             distill=dict(_base_.nst_fpn.distill, warmup_iters=50))  # the demo schedule's LR warm-up length
