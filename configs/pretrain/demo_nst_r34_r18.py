# Demo: ResNet-34 -> ResNet-18 with the NST term of nst_r101_r18_imagenet.py (final-stage pre-activation
# taps, polynomial kernel d=2, the official weight 50) on the demo data and recipe (AdamW, batch 32).
_base_ = './demo_baseline_r18.py'

# written by demo_teacher_r34.py (ExportBackboneHook: the whole classifier, torchvision format)
teacher_checkpoint = 'work_dirs/demo_teacher_r34/classifier_resnet34.pth'

model = dict(
    teacher=dict(arch='resnet34', num_classes={{_base_.num_classes}}, checkpoint=teacher_checkpoint),
    distill=dict(
        taps=[('layer4.1.relu:input', 'layer4.2.relu:input')],
        loss=dict(type='NSTLoss', kernel='poly', degree=2, constant=0.0, loss_weight=50.0),
        warmup_iters=0),
)
