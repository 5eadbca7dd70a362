"""Default `config.data`: the one place where the data fields and their defaults live."""

from __future__ import annotations

import ml_collections


def default_data_config() -> ml_collections.ConfigDict:
  """Returns the data section of the base config (see framework.data.build for semantics)."""
  return ml_collections.ConfigDict(dict(
      source="digits",  # a DATASETS name (python -m framework.list shows them all)
      data_dir="",  # where idx / mnist.npz / CIFAR files are looked up first
      path="",  # npz / csv file, image folder, or list file of the training pool
      test_path="",  # the same for the test split; else a seeded stratified split
      image_root="",  # list files: folder the listed paths are relative to (default: the list's)
      name="",  # tfds: the TensorFlow Datasets name, e.g. "cifar10"
      test_fraction=0.25,  # test share for sources without a test split
      label_column="label",  # csv label column: names or integer class ids (framework.data.labels)
      class_names=(),  # csv: the label texts in class-id order (empty: sorted names / the ids)
      remap_labels=True,  # csv: integer labels that are not 0..C-1 -> 0..K-1 in sorted order
      importance_column="",  # csv column / npz key with importance scores -> Split.importance
      num_classes=0,  # 0 = infer (max label + 1); else labels must lie in [0, num_classes)
      num_samples=2000,  # synthetic only
      num_features=16,  # synthetic only
      synthetic_classes=4,  # synthetic only
      train_size=0,  # 0 = whole pool after the validation split; else its first train_size
      val_per_class=0,  # clean balanced validation split, taken first
      long_tail=dict(profile="none", imbalance_ratio=1.0),  # none | exponential | step
      noise=dict(kind="none", rate=0.0),  # none | symmetric | class_flip
      seed=0,
      image_size=0,  # images: side the model sees (0: the images' own size; files: 224)
      augment="none",  # none | crop_flip | resized_crop_flip (framework.data.augment)
      crop_padding=4,  # crop_flip: zero padding before the random crop
      mean=(),  # per-channel mean of pixels in [0, 1] (empty: the source's default, else 0)
      std=(),  # per-channel std (empty: the source's default, else 1)
      sampler="instance",  # instance | class_balanced | sqrt | progressive (framework.data.samplers)
  ))
