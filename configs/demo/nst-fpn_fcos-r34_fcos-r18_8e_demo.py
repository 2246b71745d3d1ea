# Demo. Teacher: the demo FCOS R-34-FPN (fcos_r34_teacher_demo.py, frozen). Student: the demo FCOS R-18-FPN
# (fcos_r18_demo.py, its plain config). NST on P3-P7 (../nst-fpn_fcos-r50_fcos-r18_1x_voc0712.py says why).
# Dataset: the generated demo VOC data. Schedule: 8 epochs, batch 4, 50-iteration warm-up.
_base_ = ['./fcos_r18_demo.py', '../_base_/nst_fpn_distill.py']

teacher_config = '{{ fileDirname }}/fcos_r34_teacher_demo.py'
teacher_checkpoint = 'work_dirs/fcos_r34_teacher_demo'  # its training work dir (or a checkpoint file)

model = dict(_base_.nst_fpn, _delete_=True, student={{_base_.model}},
             teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint),
             distill=dict(_base_.nst_fpn.distill, taps=('p3', 'p4', 'p5', 'p6', 'p7'), warmup_iters=50))
