"""The validation split by fraction: stratified, taken before the long-tail and noise steps,
never leaving a class empty in training or validation, refused in one line when it would."""

import numpy as np
import pytest

from framework.data import build, default_data_config
from framework.data.protocol import validation_fraction_split
from framework.errors import ConfigError

NAMES = ("a", "b", "c", "d")


def split(counts, fraction, seed=0):
  labels = np.repeat(np.arange(len(counts)), counts)
  order = np.random.default_rng(seed).permutation(len(labels))
  return labels, order, validation_fraction_split(labels, order, fraction, len(counts), NAMES)


@pytest.mark.parametrize("counts, fraction, expected", [
    ([100, 40, 10, 3], 0.2, [20, 8, 2, 1]),  # round(0.6) = 1
    ([100, 40, 10, 2], 0.2, [20, 8, 2, 1]),  # round(0.4) = 0 -> 1: validation keeps class d
    ([100, 40, 10, 2], 0.9, [90, 36, 9, 1]),  # round(1.8) = 2 -> 1: training keeps class d
    ([50, 0, 10, 4], 0.5, [25, 0, 5, 2]),  # a class without examples stays without
])
def test_per_class_counts_are_stratified_and_never_empty_a_class(counts, fraction, expected):
  labels, order, (val, rest) = split(counts, fraction)
  assert np.bincount(labels[val], minlength=len(counts)).tolist() == expected
  assert np.bincount(labels[rest], minlength=len(counts)).tolist() == (
      np.array(counts) - expected).tolist()


def test_rows_are_the_first_of_each_class_in_order_and_disjoint():
  labels, order, (val, rest) = split([30, 12], 0.25, seed=3)
  position = {row: i for i, row in enumerate(order)}
  for c, k in ((0, 8), (1, 3)):  # round(7.5) = 8, round(3) = 3
    of_class = [row for row in order if labels[row] == c]
    assert sorted(r for r in val if labels[r] == c) == sorted(of_class[:k])
  assert sorted(np.concatenate([val, rest]).tolist()) == list(range(42))
  assert [position[r] for r in rest] == sorted(position[r] for r in rest)  # order kept


def test_a_class_of_one_example_is_refused_in_one_line():
  with pytest.raises(ConfigError, match=r"data.val_fraction=0.2 cannot keep class 3 \('d', 1 "
                     r"example in the pool\) in both training and validation"):
    split([10, 10, 10, 1], 0.2)


def _config(**fields):
  cfg = default_data_config()
  cfg.source, cfg.num_samples, cfg.synthetic_classes = "synthetic", 1000, 4
  cfg.update(fields)
  return cfg


def test_taken_before_the_long_tail_and_noise_and_clean():
  bundle = build(_config(val_fraction=0.1, noise=dict(kind="symmetric", rate=0.4),
                         long_tail=dict(profile="exponential", imbalance_ratio=10.0)))
  plain = build(_config(val_fraction=0.1))
  np.testing.assert_array_equal(bundle.info["val_origin"], plain.info["val_origin"])
  assert not bundle.val.noise_mask.any() and bundle.train.noise_mask.any()
  pool = np.bincount(plain.val.labels, minlength=4) + np.bincount(plain.train.labels,
                                                                  minlength=4)
  assert np.bincount(bundle.val.labels, minlength=4).tolist() == np.floor(
      pool * 0.1 + 0.5).astype(int).tolist()


def test_val_fraction_and_val_per_class_are_exclusive():
  with pytest.raises(ConfigError, match="data.val_fraction=0.2 and data.val_per_class=5"):
    build(_config(val_fraction=0.2, val_per_class=5))
