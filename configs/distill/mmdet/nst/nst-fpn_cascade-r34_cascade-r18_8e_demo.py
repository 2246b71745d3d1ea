# Demo. Teacher: the demo Cascade R-CNN R-34-FPN (cascade-rcnn_r34_fpn_ce-backbone_8e_demo.py, frozen). Student:
# the demo Cascade R-CNN R-18-FPN (cascade-rcnn_r18_fpn_nst-backbone_8e_demo.py, its plain config). NST on P2-P5
# (P6 is max_pool(P5)). Dataset: the generated demo VOC data. Schedule: 8 epochs, batch 4, 50-iteration warm-up.
_base_ = ['../../../detection/demo/cascade-rcnn_r18_fpn_nst-backbone_8e_demo.py',
          '../../../_base_/nst_fpn_distill.py']

teacher_config = '{{ fileDirname }}/../../../detection/demo/cascade-rcnn_r34_fpn_ce-backbone_8e_demo.py'
teacher_checkpoint = 'work_dirs/cascade-rcnn_r34_fpn_ce-backbone_8e_demo'  # its training work dir (or a file)

model = dict(_base_.nst_fpn, _delete_=True, student={{_base_.model}},
             teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint),
             distill=dict(_base_.nst_fpn.distill, warmup_iters=50))
