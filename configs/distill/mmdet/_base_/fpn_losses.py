# The per-level losses of the FPN comparison (../mse/, ../pkd/, ../cwd/), each written once. NST's is the shared
# NST block's (configs/_base_/nst_fpn_distill.py). PKD and CWD use their authors' published
# FPN settings (open-mmlab/mmrazor configs/distill/mmdet/pkd/ and cwd/); the student and teacher FPNs have equal
# widths, so the configs' adapt_channels=True builds no adapter (it would, 1x1, where widths differ).
mse_fpn_loss = dict(type='MSELoss', loss_weight=0.1)             # swept as NST's: configs/_base_/nst_fpn_distill.py
pkd_fpn_loss_two_stage = dict(type='PKDLoss', loss_weight=6.0)   # pkd_fpn_frcnn_r101_frcnn_r50_2x_coco.py
pkd_fpn_loss_one_stage = dict(type='PKDLoss', loss_weight=10.0)  # pkd_fpn_retina_x101_retina_r50_2x_coco.py
cwd_fpn_loss = dict(type='CWDLoss', tau=1.0, loss_weight=10.0)   # cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py
