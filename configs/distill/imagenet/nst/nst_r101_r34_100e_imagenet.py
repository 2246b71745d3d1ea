# ResNet-101 -> ResNet-34, otherwise as nst_r101_r18_100e_imagenet.py: one tap on the final pre-activation of both
# (the residual sum before the last block's ReLU; ResNet-34's layer4 has 3 blocks, 512 channels).
# Export: work_dirs/nst_r101_r34_100e_imagenet/backbone_resnet34.pth, for
# configs/detection/faster_rcnn/faster-rcnn_r34_fpn_nst-backbone_1x_voc0712.py.
# Teacher: torchvision://ResNet101_Weights.IMAGENET1K_V1, as nst_r101_r18_100e_imagenet.py (teacher_checkpoint).
_base_ = './nst_r101_r18_100e_imagenet.py'

model = dict(
    student=dict(arch='resnet34'),
    distill=dict(taps=[('layer4.2.relu:input', 'layer4.2.relu:input')]))
