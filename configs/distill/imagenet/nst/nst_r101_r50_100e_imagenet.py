# ResNet-101 -> ResNet-50 (Bottleneck), otherwise as nst_r101_r18_100e_imagenet.py: one tap on the final
# pre-activation of both, the same point in the same block type (layer4.2: 3 blocks, 2048 channels each).
# Export: work_dirs/nst_r101_r50_100e_imagenet/backbone_resnet50.pth, for
# configs/detection/faster_rcnn/faster-rcnn_r50_fpn_nst-backbone_1x_voc0712.py.
# Teacher: torchvision://ResNet101_Weights.IMAGENET1K_V1, as nst_r101_r18_100e_imagenet.py (teacher_checkpoint).
_base_ = './nst_r101_r18_100e_imagenet.py'

model = dict(
    student=dict(arch='resnet50'),
    distill=dict(taps=[('layer4.2.relu:input', 'layer4.2.relu:input')]))
