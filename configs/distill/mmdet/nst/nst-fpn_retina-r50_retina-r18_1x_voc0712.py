# Teacher: RetinaNet R-50-FPN trained on VOC07+12 with the stock mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py
# (frozen; mmdet releases no VOC RetinaNet checkpoint: train it with tools/train_det.py on that config, or pass
# teacher_checkpoint=). Student: RetinaNet R-18-FPN from the NST-distilled ResNet-18
# (retinanet_r18_fpn_nst-backbone_1x_voc0712.py, also the config to test the checkpoints with).
# Levels: P3-P7, every level the RetinaHead reads (../_base_/fpn_levels.py says why). RetinaNet's P6 and P7 are
# convolutions of their own (add_extra_convs='on_input': P6 = conv(C5), P7 = conv(relu(P6))).
# Dataset: VOC07+12 trainval -> VOC07 test. Schedule: stock VOC 1x (lr 0.01, no warm-up), 16 images per step.
_base_ = ['../../../detection/retinanet/retinanet_r18_fpn_nst-backbone_1x_voc0712.py',
          '../../../_base_/nst_fpn_distill.py', '../_base_/fpn_levels.py']

teacher_config = 'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py'
teacher_checkpoint = 'work_dirs/retinanet_r50_fpn_1x_voc0712'

model = dict(_base_.nst_fpn, _delete_=True, student={{_base_.model}},
             teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint),
             distill=dict(_base_.nst_fpn.distill, taps=_base_.single_stage_taps))
