# Teacher: Cascade R-CNN R-50-FPN trained on VOC07+12 with cascade-rcnn_r50_fpn_1x_voc0712.py (frozen; pass its work
# dir or checkpoint as teacher_checkpoint). Student: Cascade R-CNN R-18-FPN from the NST-distilled ResNet-18
# (cascade-rcnn_r18_fpn_nst-backbone_1x_voc0712.py, also the config to test the checkpoints with).
# Levels: P2-P5, as Faster R-CNN: the levels the RPN and the three RoI stages read; P6 is max_pool(P5), a copy.
# Dataset: VOC07+12 trainval -> VOC07 test. Schedule: stock VOC 1x (lr 0.01, no warm-up), 16 images per step.
_base_ = ['../../../detection/cascade_rcnn/cascade-rcnn_r18_fpn_nst-backbone_1x_voc0712.py',
          '../../../_base_/nst_fpn_distill.py']

teacher_config = '{{ fileDirname }}/../../../detection/cascade_rcnn/cascade-rcnn_r50_fpn_1x_voc0712.py'
teacher_checkpoint = 'work_dirs/cascade-rcnn_r50_fpn_1x_voc0712'

model = dict(_base_.nst_fpn, _delete_=True, student={{_base_.model}},
             teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))
