# ResNet-50 -> ResNet-18, otherwise as nst_r101_r18_imagenet.py.
_base_ = './nst_r101_r18_imagenet.py'

teacher_checkpoint = 'checkpoints/resnet50.pth'

model = dict(teacher=dict(arch='resnet50', checkpoint=teacher_checkpoint))
