# ResNet-101 -> ResNet-18 with CE + λ/2·MMD² (the official NST setting): one tap on the final stage,
# pre-activation features ("layer4.<last>.relu:input" is the residual sum before the block's last ReLU),
# polynomial kernel d=2, c=0, λ = 50.
_base_ = ['./_base_/default_runtime.py', './_base_/imagenet.py', './_base_/schedule_sgd_100e.py']

teacher_checkpoint = 'checkpoints/resnet101.pth'   # torchvision, mmpretrain or nst_det format

model = dict(
    type='ClassifierDistiller',
    student=dict(arch='resnet18', num_classes={{_base_.num_classes}}),
    teacher=dict(arch='resnet101', num_classes={{_base_.num_classes}}, checkpoint=teacher_checkpoint),
    taps=[('layer4.1.relu:input', 'layer4.2.relu:input')],
    # the PyTorch ports instead sum NST over every stage's output:
    # taps=[('layer1', 'layer1'), ('layer2', 'layer2'), ('layer3', 'layer3'), ('layer4', 'layer4')]
    nst_loss=dict(type='NSTLoss', kernel='poly', degree=2, constant=0.0, loss_weight=50.0),
    data_preprocessor={{_base_.data_preprocessor}},
)
