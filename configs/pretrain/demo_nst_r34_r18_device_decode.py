# demo_nst_r34_r18.py with the device-side data path (see nst_r101_r18_imagenet_device_decode.py);
# on a CPU-only machine the "device" is the CPU: the same code, as the tests run it.
_base_ = './demo_nst_r34_r18.py'

train_dataloader = dict(collate_fn=dict(type='encoded_collate'), dataset=dict(type='EncodedImageFolderDataset'))
val_dataloader = dict(collate_fn=dict(type='encoded_collate'), dataset=dict(type='EncodedImageFolderDataset'))
model = dict(data_preprocessor=dict(type='DeviceDecodePreprocessor', crop_size=64))
