# The headline, and the mission's entry point (configs/faster_rcnn_nst.py is this config). Teacher: mmdet's VOC07+12
# Faster R-CNN R-50-FPN (frozen). Student: Faster R-CNN R-18-FPN from the NST-distilled ResNet-18. NST on FPN P2-P5
# (the levels the RPN and the RoI head read; P6 is a strided copy of P5: configs/_base_/nst_fpn_distill.py).
# Dataset: VOC07+12 trainval -> VOC07 test (11-point mAP). Schedule: the stock VOC 1x (4 epochs of the 3x-repeated
# set, lr 0.01, no warm-up) for 16 images per step (8 GPUs x 2). The teacher is named by its model-zoo URL:
# downloaded once into torch's hub cache. Checkpoints hold the student alone: test them with this config or
# faster-rcnn_r18_fpn_nst-backbone_1x_voc0712.py. Same-teacher controls: ../mse/, ../pkd/, ../cwd/ (same name).
_base_ = ['../../../detection/faster_rcnn/faster-rcnn_r18_fpn_nst-backbone_1x_voc0712.py',
          '../../../_base_/nst_fpn_distill.py']

teacher_config = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
teacher_checkpoint = ('https://download.openmmlab.com/mmdetection/v2.0/pascal_voc/faster_rcnn_r50_fpn_1x_voc0712/'
                      'faster_rcnn_r50_fpn_1x_voc0712_20220320_192712-54bef0f3.pth')

model = dict(_base_.nst_fpn, _delete_=True, student={{_base_.model}},
             teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))
