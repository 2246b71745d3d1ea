# The name README.md, tools/run_demo.py and the tests use, kept working: the same config as
# mse-fpn_frcnn-r34_frcnn-r18_8e_demo.py
# (mmrazor-style name: <loss>-fpn_<teacher>_<student>_<schedule>_<dataset>).
_base_ = './mse-fpn_frcnn-r34_frcnn-r18_8e_demo.py'
