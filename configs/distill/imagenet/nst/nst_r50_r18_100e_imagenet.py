# ResNet-50 -> ResNet-18, otherwise as nst_r101_r18_100e_imagenet.py.
_base_ = './nst_r101_r18_100e_imagenet.py'

teacher_checkpoint = 'torchvision://ResNet50_Weights.IMAGENET1K_V1'  # 76.13 % top-1 (V2: 80.86 %, see nst_r101_r18)

model = dict(teacher=dict(arch='resnet50', checkpoint=teacher_checkpoint))
