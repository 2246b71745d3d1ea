# The FPN levels a single-stage detector distils, written once (RetinaNet, FCOS; their NST configs in ../nst/, and
# so every method of the comparison). Two-stage detectors (Faster/Cascade R-CNN) distil P2-P5, the default of
# configs/_base_/nst_fpn_distill.py: the levels their RPN and RoI heads read (their P6 is max_pool(P5), a strided
# copy). A single-stage head reads P3-P7 (strides 8-128); its P6 and P7 are convolutions of their own (RetinaNet:
# add_extra_convs='on_input', P6 = conv(C5); FCOS: 'on_output', P6 = conv(P5); both P7 = conv(relu(P6))) that
# detect the largest objects, not pooled copies of P5, and there is no P2 (start_level=1).
single_stage_taps = ('p3', 'p4', 'p5', 'p6', 'p7')
