# Teacher: FCOS R-50-FPN trained on VOC07+12 with fcos_r50_fpn_gn-head_1x_voc0712.py (frozen; pass its work dir or
# checkpoint as teacher_checkpoint). Student: FCOS R-18-FPN from the NST-distilled ResNet-18
# (fcos_r18_fpn_nst-backbone_1x_voc0712.py, also the config to test the checkpoints with). Both pytorch style:
# the teacher is fed the student's preprocessed batch, so it cannot be one of mmdet's Caffe-style FCOS models.
# Levels: P3-P7, every level the FCOSHead reads (strides 8-128, one regression range each; ../_base_/fpn_levels.py).
# FCOS's P6 and P7 are convolutions of their own (add_extra_convs='on_output': P6 = conv(P5), P7 = conv(relu(P6))).
# Dataset: VOC07+12 trainval -> VOC07 test. Schedule: VOC 1x (lr 0.01, step at epoch 3) with FCOS's 500-iteration
# warm-up, which the NST losses follow; 16 images per step.
_base_ = ['../../../detection/fcos/fcos_r18_fpn_nst-backbone_1x_voc0712.py',
          '../../../_base_/nst_fpn_distill.py', '../_base_/fpn_levels.py']

teacher_config = '{{ fileDirname }}/../../../detection/fcos/fcos_r50_fpn_gn-head_1x_voc0712.py'
teacher_checkpoint = 'work_dirs/fcos_r50_fpn_gn-head_1x_voc0712'

model = dict(_base_.nst_fpn, _delete_=True, student={{_base_.model}},
             teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint),
             distill=dict(_base_.nst_fpn.distill, taps=_base_.single_stage_taps))
