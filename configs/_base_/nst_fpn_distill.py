# The NST-on-FPN block every FPN-distillation config shares (VOC, COCO and demo; Faster R-CNN, RetinaNet,
# FCOS, Cascade R-CNN). A config inherits it beside its student config and wraps the student:
#
#     _base_ = ['./faster_rcnn_nst_backbone_only.py', './_base_/nst_fpn_distill.py']
#     teacher_config = 'mmdet::pascal_voc/faster-rcnn_r50_fpn_1x_voc0712.py'
#     teacher_checkpoint = 'checkpoints/....pth'
#     model = dict(_base_.nst_fpn, _delete_=True, student={{_base_.model}},
#                  teacher=dict(config=teacher_config, checkpoint=teacher_checkpoint))
#
# and overrides what differs: `distill=dict(_base_.nst_fpn.distill, warmup_iters=500)`.
# `nst_fpn` is a plain variable (mmengine merges no base into `model` beside the student config's own).

# placeholders: each distillation config sets both (--cfg-options teacher_checkpoint=... moves model.teacher too)
teacher_config = None       # the teacher detector's config: a path or 'mmdet::...'
teacher_checkpoint = None   # its checkpoint: a file, or a training work dir (its last_checkpoint)

nst_fpn = dict(
    type='NSTDistillDetector',
    distill=dict(
        # P2-P5: the FPN outputs both the RPN and the RoI head (featmap_strides 4-32) of Faster/Cascade R-CNN
        # read. P6 is left out: in their FPN (add_extra_convs=False) it is max_pool(P5, kernel 1, stride 2), a
        # strided copy of P5, so distilling it would count P5 twice. Single-stage configs set P3-P7.
        taps=('p2', 'p3', 'p4', 'p5'),
        level_weights=None,
        warmup_iters=0,  # set to the schedule's linear LR warm-up length (the stock VOC schedule has none)
        # loss_weight 50: the released code's ImageNet NST weight (nst_det/losses/nst.py), used per level here;
        # the paper and the released code have no FPN NST, so this value is ours, not theirs
        loss=dict(type='NSTLoss', kernel='poly', degree=2, constant=0.0, loss_weight=50.0)))
