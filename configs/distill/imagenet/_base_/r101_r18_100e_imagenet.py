# The ImageNet-stage comparison's one setup: ResNet-101 (frozen) -> ResNet-18, the torchvision ResNet recipe
# (batch 256, SGD momentum 0.9, lr 0.1, 100 epochs, steps at 30/60/90), one tap pair on the final stage's
# pre-activation features (the residual sum before the last block's ReLU, as the released NST code taps).
# Every method config (../<method>/) inherits this file and sets only its loss(es): the same teacher, student,
# taps and schedule for all. (Trained by itself it is NST: the default loss; nst/ names it.)
_base_ = ['../../../_base_/imagenet/default_runtime.py', '../../../_base_/imagenet/imagenet.py',
          '../../../_base_/imagenet/schedule_sgd_100e.py']

# The teacher this recipe expects: torchvision's original ResNet-101 weights, IMAGENET1K_V1 (77.37 % top-1 at
# resize 256 / centre crop 224), downloaded once into torch's hub cache (README "Teachers by URL or torchvision
# name"); a local file (torchvision, mmpretrain or nst_det format) or an https:// URL works too.
teacher_checkpoint = 'torchvision://ResNet101_Weights.IMAGENET1K_V1'

model = dict(
    type='ClassifierDistiller',
    student=dict(arch='resnet18', num_classes={{_base_.num_classes}}),
    teacher=dict(arch='resnet101', num_classes={{_base_.num_classes}}, checkpoint=teacher_checkpoint),
    distill=dict(taps=[('layer4.1.relu:input', 'layer4.2.relu:input')]),
    data_preprocessor={{_base_.data_preprocessor}},
)
