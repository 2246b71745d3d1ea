# Demo: train the ResNet-34 teacher on the generated data (CE only), longer than the students
# (12 vs 8 epochs) so that it is the better network. On 1000 small images a BasicBlock ResNet
# trains far more readily from scratch than a bottleneck one, and costs less on a CPU.
_base_ = './ce_r18_8e_demo.py'

max_epochs = 12
model = dict(student=dict(arch='resnet34'))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=0.0),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
