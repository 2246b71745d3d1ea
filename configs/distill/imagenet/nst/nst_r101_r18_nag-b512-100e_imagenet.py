# The released code's recipe (TuSimple/neuron-selectivity-transfer, config/cfgs.py and train.py) around the
# same NST term as nst_r101_r18_100e_imagenet.py: 8 processes x 64 = 512 images per step, lr 0.1 at that batch
# (not scaled up from 256), NAG (SGD with Nesterov momentum 0.9), weight decay 1e-4, 100 epochs, steps at
# 30/60/90, NST weight 50. What still differs from that code: its student is Inception-BN (here ResNet-18),
# and its data pipeline is MXNet's (ResNeXt-style augmentation).
# Teacher: torchvision://ResNet101_Weights.IMAGENET1K_V1, as nst_r101_r18_100e_imagenet.py (teacher_checkpoint).
_base_ = './nst_r101_r18_100e_imagenet.py'

train_dataloader = dict(batch_size=64)  # per process: 8 processes x 64 = 512
optim_wrapper = dict(optimizer=dict(lr=0.1, momentum=0.9, nesterov=True))
auto_scale_lr = dict(base_batch_size=512)
