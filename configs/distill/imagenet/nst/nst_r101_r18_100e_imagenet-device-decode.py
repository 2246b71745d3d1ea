# nst_r101_r18_100e_imagenet.py with decoding and augmentation on the training device
# (nst_det/pretrain/device_data.py): DataLoader workers only read file bytes and draw each image's crop
# box and flip (the same draws, from the same (seed, epoch, index) generators, as the CPU path); the
# batch's JPEGs are decoded together (nvJPEG on CUDA), cropped, resized, flipped and normalised there.
# PNG, grayscale and CMYK files are decoded by the workers, alone. The same three overrides turn any
# ImageNet-stage config into its device-decoding variant.
# Teacher: torchvision://ResNet101_Weights.IMAGENET1K_V1, as nst_r101_r18_100e_imagenet.py (teacher_checkpoint).
_base_ = './nst_r101_r18_100e_imagenet.py'

train_dataloader = dict(collate_fn=dict(type='encoded_collate'), dataset=dict(type='EncodedImageFolderDataset'))
val_dataloader = dict(collate_fn=dict(type='encoded_collate'), dataset=dict(type='EncodedImageFolderDataset'))
model = dict(data_preprocessor=dict(type='DeviceDecodePreprocessor', crop_size=224))
