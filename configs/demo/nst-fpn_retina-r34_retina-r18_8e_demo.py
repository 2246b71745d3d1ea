# Demo. Teacher: the demo RetinaNet R-34-FPN (retinanet_r34_teacher_demo.py, frozen). Student: the demo RetinaNet
# R-18-FPN (retinanet_r18_demo.py, its plain config). NST on P3-P7 (../nst-fpn_retina-r50_retina-r18_1x_voc0712.py
# says why). Dataset: the generated demo VOC data. Schedule: 8 epochs, batch 4, 50-iteration warm-up.
_base_ = ['./retinanet_r18_demo.py', '../_base_/nst_fpn_distill.py']

teacher_config = '{{ fileDirname }}/retinanet_r34_teacher_demo.py'
teacher_checkpoint = 'work_dirs/retinanet_r34_teacher_demo'  # its training work dir (or a checkpoint file)

model = dict(_base_.nst_fpn, _delete_=True, student={{_base_.model}},
             teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint),
             distill=dict(_base_.nst_fpn.distill, taps=('p3', 'p4', 'p5', 'p6', 'p7'), warmup_iters=50))
