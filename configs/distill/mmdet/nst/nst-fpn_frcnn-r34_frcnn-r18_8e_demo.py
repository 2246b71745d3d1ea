# Demo. Teacher: the demo Faster R-CNN R-34-FPN (faster-rcnn_r34_fpn_ce-backbone_8e_demo.py, frozen). Student:
# Faster R-CNN R-18-FPN from the demo NST backbone (faster-rcnn_r18_fpn_nst-backbone_8e_demo.py). NST on FPN P2-P5
# (configs/_base_/nst_fpn_distill.py). Dataset: the generated demo VOC data. Schedule: 8 epochs, batch 4,
# 50-iteration warm-up (configs/_base_/det_demo_voc.py).
_base_ = ['../../../detection/demo/faster-rcnn_r18_fpn_nst-backbone_8e_demo.py',
          '../../../_base_/nst_fpn_distill.py']

teacher_config = '{{ fileDirname }}/../../../detection/demo/faster-rcnn_r34_fpn_ce-backbone_8e_demo.py'
# the work dir of `tools/train_det.py configs/detection/demo/faster-rcnn_r34_fpn_ce-backbone_8e_demo.py`: a folder
# means the checkpoint its last_checkpoint file names (a checkpoint file works too)
teacher_checkpoint = 'work_dirs/faster-rcnn_r34_fpn_ce-backbone_8e_demo'

model = dict(_base_.nst_fpn, _delete_=True, student={{_base_.model}},
             teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint),
             distill=dict(_base_.nst_fpn.distill, warmup_iters=50))  # the demo schedule's LR warm-up length
