# The mission's entry point, and the one alias: Faster R-CNN R-18-FPN from the NST-distilled ResNet-18, NST on FPN
# P2-P5 from mmdet's VOC07+12 R-50-FPN teacher, stock VOC 1x. The config itself is
# configs/distill/mmdet/nst/nst-fpn_frcnn-r50_frcnn-r18_1x_voc0712.py (OpenMMLab's naming:
# <algo>_<teacher>_<student>_<schedule>_<dataset>); its work dir is work_dirs/faster_rcnn_nst.
_base_ = './distill/mmdet/nst/nst-fpn_frcnn-r50_frcnn-r18_1x_voc0712.py'
