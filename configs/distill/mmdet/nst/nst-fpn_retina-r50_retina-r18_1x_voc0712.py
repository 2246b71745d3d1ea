# NST on the FPN levels: the family base of the FPN comparison (../mse/, ../pkd/ and ../cwd/ inherit it and change the
# loss alone). For now the setup lives in configs/nst-fpn_retina-r50_retina-r18_1x_voc0712.py (it moves here when the
# old names go).
_base_ = '../../../nst-fpn_retina-r50_retina-r18_1x_voc0712.py'
