"""The Split / DataBundle contract and the default data config."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from framework.data import DataBundle, Split, default_data_config


def test_split_coerces_dtypes_and_defaults_clean_labels():
  split = Split(np.zeros((3, 2), np.float64), np.array([0, 2, 1], np.int64))
  assert split.features.dtype == np.float32
  assert split.labels.dtype == np.int32 and split.clean_labels.dtype == np.int32
  np.testing.assert_array_equal(split.clean_labels, [0, 2, 1])
  assert split.importance is None and len(split) == 3
  assert not split.noise_mask.any()


def test_noise_mask_marks_changed_labels():
  split = Split(np.zeros((4, 1), np.float32), np.array([0, 1, 1, 0]), np.array([0, 0, 1, 1]),
                np.array([1, 2, 3, 4]))
  np.testing.assert_array_equal(split.noise_mask, [False, True, False, True])
  assert split.importance.dtype == np.float32


@pytest.mark.parametrize("kwargs", [
    dict(examples=np.zeros((3, 2)), labels=np.zeros(2, np.int32)),
    dict(examples=np.zeros((3, 2)), labels=np.zeros(3, np.float32)),
    dict(examples=np.zeros((3, 2)), labels=np.zeros(3, np.int32), importance=np.ones(2)),
    dict(examples=np.zeros(3), labels=np.zeros(3, np.int32)),
])
def test_split_rejects_inconsistent_arrays(kwargs):
  with pytest.raises(ValueError, match="Split"):
    Split(**kwargs)


def _split(labels):
  return Split(np.zeros((len(labels), 2), np.float32), np.array(labels))


def test_bundle_class_counts_cover_absent_classes():
  bundle = DataBundle(_split([0, 0, 2]), None, _split([1]), 4, ("a", "b", "c", "d"))
  assert bundle.class_counts.dtype == np.int64
  np.testing.assert_array_equal(bundle.class_counts, [2, 0, 1, 0])
  assert bundle.input_shape == (2,)
  with pytest.raises(dataclasses.FrozenInstanceError):
    bundle.num_classes = 3  # type: ignore[misc]


def test_bundle_rejects_bad_class_metadata():
  with pytest.raises(ValueError, match="class_names"):
    DataBundle(_split([0]), None, _split([0]), 2, ("a",))
  with pytest.raises(ValueError, match=r"test labels must lie in \[0, 2\)"):
    DataBundle(_split([0]), None, _split([2]), 2, ("a", "b"))


def test_default_data_config_fields():
  cfg = default_data_config()
  assert cfg.to_dict() == dict(
      source="digits", data_dir="", path="", test_path="", test_fraction=0.25,
      label_column="label", class_names=(), remap_labels=True, importance_column="",
      skip_bad_images=False,
      num_classes=0, num_samples=2000, num_features=16, synthetic_classes=4, train_size=0,
      val_per_class=0,
      long_tail=dict(profile="none", imbalance_ratio=1.0), noise=dict(kind="none", rate=0.0),
      seed=0, image_root="", name="", image_size=0, augment="none", crop_padding=4, mean=(),
      std=(), sampler="instance", drop_remainder=True, mix=dict(name="none", kwargs={}),
      feature_columns=(), drop_columns=(), categorical_columns=(), val_fraction=0.0,
      leave_out=dict(file="", count=0), folds=dict(count=0, held_out=0))
  cfg.long_tail.imbalance_ratio = 100  # int override of a float field is accepted
  assert cfg.long_tail.imbalance_ratio == 100.0
