# NST on the FPN levels: the family base of the FPN comparison (../mse/, ../pkd/ and ../cwd/ inherit it and change the
# loss alone). For now the setup lives in configs/demo/nst-fpn_cascade-r34_cascade-r18_8e_demo.py (it moves here when
# the old names go).
_base_ = '../../../demo/nst-fpn_cascade-r34_cascade-r18_8e_demo.py'
