# nst_r34_r18_8e_demo.py with the device-side data path (see nst_r101_r18_100e_imagenet-device-decode.py);
# on a CPU-only machine the "device" is the CPU: the same code, as the tests run it.
_base_ = './nst_r34_r18_8e_demo.py'

train_dataloader = dict(collate_fn=dict(type='encoded_collate'), dataset=dict(type='EncodedImageFolderDataset'))
val_dataloader = dict(collate_fn=dict(type='encoded_collate'), dataset=dict(type='EncodedImageFolderDataset'))
model = dict(data_preprocessor=dict(type='DeviceDecodePreprocessor', crop_size=64))
