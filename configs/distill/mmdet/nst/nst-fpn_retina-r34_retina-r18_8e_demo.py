# Demo. Teacher: the demo RetinaNet R-34-FPN (retinanet_r34_fpn_ce-backbone_8e_demo.py, frozen). Student: the demo
# RetinaNet R-18-FPN (retinanet_r18_fpn_nst-backbone_8e_demo.py, its plain config). NST on P3-P7
# (../_base_/fpn_levels.py). Dataset: the generated demo VOC data. Schedule: 8 epochs, batch 4, 50-iteration warm-up.
_base_ = ['../../../detection/demo/retinanet_r18_fpn_nst-backbone_8e_demo.py',
          '../../../_base_/nst_fpn_distill.py', '../_base_/fpn_levels.py']

teacher_config = '{{ fileDirname }}/../../../detection/demo/retinanet_r34_fpn_ce-backbone_8e_demo.py'
teacher_checkpoint = 'work_dirs/retinanet_r34_fpn_ce-backbone_8e_demo'  # its training work dir (or a checkpoint file)

model = dict(_base_.nst_fpn, _delete_=True, student={{_base_.model}},
             teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint),
             distill=dict(_base_.nst_fpn.distill, taps=_base_.single_stage_taps, warmup_iters=50))
