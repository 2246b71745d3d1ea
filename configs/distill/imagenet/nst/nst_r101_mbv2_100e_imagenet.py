# ResNet-101 -> MobileNetV2 (torchvision, width 1.0), otherwise as nst_r101_r18_100e_imagenet.py. The student's tap is
# its final pre-activation: the batch-normalised 1x1 conv 320 -> 1280 (features.18) before its ReLU6; at stride
# 32 like the teacher's layer4 (NST compares Gram matrices of 1280 vs 2048 channels: no adapter needed).
# Schedule: the ResNet recipe of _base_ with MobileNetV2's weight decay 4e-5 (torchvision's reference recipe;
# its own schedule is 300 epochs, lr 0.045, decayed by 0.98 per epoch).
# Export (keys mapped to mmdet's MobileNetV2: nst_det/pretrain/students.py):
# work_dirs/nst_r101_mbv2_100e_imagenet/backbone_mobilenet_v2.pth, for
# configs/detection/faster_rcnn/faster-rcnn_mbv2_fpn_nst-backbone_1x_voc0712.py.
# Teacher: torchvision://ResNet101_Weights.IMAGENET1K_V1, as nst_r101_r18_100e_imagenet.py (teacher_checkpoint).
_base_ = './nst_r101_r18_100e_imagenet.py'

model = dict(
    student=dict(arch='mobilenet_v2'),
    distill=dict(taps=[('features.18.2:input', 'layer4.2.relu:input')]))
optim_wrapper = dict(optimizer=dict(weight_decay=4e-5))
