"""Default `config.data`: the one place where the data fields and their defaults live."""

from __future__ import annotations

import ml_collections


def default_data_config() -> ml_collections.ConfigDict:
  """Returns the data section of the base config (see framework.data.build for semantics)."""
  return ml_collections.ConfigDict(dict(
      source="digits",  # a DATASETS name: digits | synthetic | fashion_mnist | mnist | npz | csv
      data_dir="",  # where idx / mnist.npz files are looked up first
      path="",  # npz / csv training file
      test_path="",  # optional npz / csv test file; else a seeded stratified split
      test_fraction=0.25,  # test share for sources without a test split
      label_column="label",  # csv label column
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
  ))
