# Your own dataset in COCO format (README "Your own dataset"): Faster R-CNN R-18-FPN on the NST-distilled
# ResNet-18 (as faster-rcnn_r18_fpn_nst-backbone_1x_coco.py: the stock COCO 1x model, pipeline and schedule), on
#     <data_root>/annotations/train.json  <data_root>/annotations/val.json  <data_root>/images/<file_name>
# The class names are the categories of the training annotation file (classes_from; ordered by category id),
# and their count is num_classes of every head: the tools read the file (nst_det/utils/classes.py), so nothing
# here lists classes. Point it at your data:
#     python tools/train_det.py configs/detection/faster_rcnn/faster-rcnn_r18_fpn_nst-backbone_1x_custom-coco.py \
#         --cfg-options data_root=/data/my_dataset/ \
#         backbone_checkpoint=work_dirs/nst_r101_r18_100e_imagenet/backbone_resnet18.pth
# Another layout: override ann_file / data_prefix below. To distil the FPN from a teacher detector trained on
# your data, add '../../_base_/nst_fpn_distill.py' as
# configs/distill/mmdet/nst/nst-fpn_frcnn-r50_frcnn-r18_1x_voc0712.py does.
_base_ = './faster-rcnn_r18_fpn_nst-backbone_1x_coco.py'

data_root = 'data/my_dataset/'
classes_from = data_root + 'annotations/train.json'

train_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='annotations/train.json', data_prefix=dict(img='images/')))
val_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='annotations/val.json', data_prefix=dict(img='images/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
