"""The long-tail / noisy-label protocols, re-derived independently with NumPy."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest

from framework.data import build, default_data_config, idx

FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
FMNIST_LT_IR100 = [6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60]


def make_cfg(long_tail=None, noise=None, **fields):
  cfg = default_data_config()
  cfg.update(fields)
  cfg.long_tail.update(long_tail or {})
  cfg.noise.update(noise or {})
  return cfg


def _read_gz(name: str, offset: int) -> np.ndarray:
  with gzip.open(os.path.join(FMNIST_DIR, name)) as f:
    return np.frombuffer(f.read(), np.uint8, offset=offset)


@pytest.fixture(scope="module")
def fmnist_raw():
  y_train = _read_gz("train-labels-idx1-ubyte.gz", 8)
  x_train = _read_gz("train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
  y_test = _read_gz("t10k-labels-idx1-ubyte.gz", 8)
  x_test = _read_gz("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
  return x_train, y_train, x_test, y_test


def first_per_class(labels, order, quota):
  """Independent reference: walk `order`, keep a row while its class is under quota."""
  seen = np.zeros(len(quota), np.int64)
  kept = []
  for i in order:
    if seen[labels[i]] < quota[labels[i]]:
      seen[labels[i]] += 1
      kept.append(i)
  return np.array(kept, np.int64)


def test_fashion_mnist_lt_protocol(fmnist_raw, monkeypatch):
  monkeypatch.setattr(idx, "keras_cache_dirs", lambda subdir: [])  # find the Debian copy
  x_train, y_train, x_test, y_test = fmnist_raw
  bundle = build(make_cfg(source="fashion_mnist",
                          long_tail=dict(profile="exponential", imbalance_ratio=100)))
  assert bundle.info["location"] == FMNIST_DIR
  assert bundle.class_counts.tolist() == FMNIST_LT_IR100
  assert len(bundle.train) == 14886 and bundle.val is None
  # Test split: the full balanced 10,000 test images, in file order.
  assert len(bundle.test) == 10000
  assert np.bincount(bundle.test.labels).tolist() == [1000] * 10
  np.testing.assert_array_equal(bundle.test.labels, y_test)
  np.testing.assert_array_equal(bundle.test.features[..., 0], x_test)  # raw uint8
  # Train: the first n_c of each class of the seeded permutation, in permutation order.
  perm = np.random.default_rng(0).permutation(60000)
  expected = first_per_class(y_train, perm, FMNIST_LT_IR100)
  np.testing.assert_array_equal(bundle.info["train_origin"], expected)
  np.testing.assert_array_equal(bundle.train.labels, y_train[expected])
  assert bundle.train.features.shape == (14886, 28, 28, 1)
  assert bundle.train.features.dtype == np.uint8  # scaled in the pipeline
  np.testing.assert_array_equal(bundle.train.features[..., 0], x_train[expected])  # raw uint8
  assert bundle.class_names[0] == "T-shirt/top" and bundle.class_names[9] == "Ankle boot"
  assert not bundle.train.noise_mask.any()


NOISY = dict(source="fashion_mnist", val_per_class=100, train_size=10000)


def test_fashion_mnist_noisy_protocol(fmnist_raw):
  _, y_train, _, _ = fmnist_raw
  bundle = build(make_cfg(noise=dict(kind="symmetric", rate=0.5), **NOISY))
  perm = np.random.default_rng(0).permutation(60000)
  val_rows = first_per_class(y_train, perm, [100] * 10)
  rest = perm[~np.isin(perm, val_rows)]
  np.testing.assert_array_equal(bundle.info["val_origin"], val_rows)
  np.testing.assert_array_equal(bundle.info["train_origin"], rest[:10000])
  assert len(bundle.val) == 1000 and len(bundle.train) == 10000 and len(bundle.test) == 10000
  assert np.bincount(bundle.val.labels).tolist() == [100] * 10
  np.testing.assert_array_equal(bundle.val.labels, y_train[val_rows])  # clean
  assert not bundle.val.noise_mask.any()
  np.testing.assert_array_equal(bundle.train.clean_labels, y_train[rest[:10000]])
  mask = bundle.train.noise_mask
  np.testing.assert_array_equal(mask, bundle.train.labels != bundle.train.clean_labels)
  assert abs(mask.mean() - 0.45) < 0.02  # 0.5 * (1 - 1/10), binomial sd 0.005
  # Wrong labels are spread uniformly over the other 9 classes (about 500 each).
  shift = (bundle.train.labels[mask] - bundle.train.clean_labels[mask]) % 10
  assert np.all((np.bincount(shift, minlength=10)[1:] > 400) &
                (np.bincount(shift, minlength=10)[1:] < 600))


def test_noise_does_not_change_kept_examples(fmnist_raw):
  del fmnist_raw
  clean = build(make_cfg(**NOISY))
  noisy = build(make_cfg(noise=dict(kind="symmetric", rate=0.5), **NOISY))
  np.testing.assert_array_equal(clean.info["train_origin"], noisy.info["train_origin"])
  np.testing.assert_array_equal(clean.train.features, noisy.train.features)
  np.testing.assert_array_equal(clean.train.labels, noisy.train.clean_labels)
  np.testing.assert_array_equal(clean.val.features, noisy.val.features)
  assert not np.array_equal(noisy.train.labels, noisy.train.clean_labels)


SYNTH = dict(source="synthetic", num_samples=4000, synthetic_classes=5, num_features=3)


def test_synthetic_pool_and_stratified_test_split():
  bundle = build(make_cfg(**SYNTH))
  assert np.bincount(bundle.test.labels).tolist() == [200] * 5  # round(0.25 * 800)
  assert bundle.class_counts.tolist() == [600] * 5
  assert bundle.train.features.shape == (3000, 3)
  origins = np.concatenate([bundle.info["train_origin"], bundle.info["test_origin"]])
  assert sorted(origins.tolist()) == list(range(4000))
  # Features are standardised with pool statistics: the pool is the whole training split.
  np.testing.assert_allclose(bundle.train.features.mean(0), 0, atol=1e-5)
  np.testing.assert_allclose(bundle.train.features.std(0), 1, atol=1e-5)
  # Separable-ish, not trivially: nearest-centroid test accuracy well above chance, below 1.
  x, y = bundle.train.features, bundle.train.labels
  centres = np.stack([x[y == c].mean(0) for c in range(5)])
  pred = np.argmin(((bundle.test.features[:, None] - centres[None]) ** 2).sum(-1), axis=1)
  assert 0.5 < (pred == bundle.test.labels).mean() < 0.99


@pytest.mark.parametrize("profile,ratio,expected", [
    ("exponential", 10, [600, 337, 189, 106, 60]),
    ("exponential", 1, [600] * 5),
    ("step", 4, [600, 600, 150, 150, 150]),
    ("step", 7, [600, 600, 85, 85, 85]),
])
def test_long_tail_keeps_first_n_c_in_permutation_order(profile, ratio, expected):
  base = build(make_cfg(**SYNTH))
  bundle = build(make_cfg(long_tail=dict(profile=profile, imbalance_ratio=ratio), **SYNTH))
  quota = [int(600 * (1 / ratio) ** (c / 4) + 1e-9) if profile == "exponential" else
           (600 if c < 5 // 2 else int(600 / ratio)) for c in range(5)]
  assert quota == expected
  assert bundle.class_counts.tolist() == expected
  order = np.arange(len(base.train))  # base.train is the whole pool in permutation order
  kept = first_per_class(base.train.labels, order, expected)
  np.testing.assert_array_equal(bundle.info["train_origin"], base.info["train_origin"][kept])
  np.testing.assert_array_equal(bundle.train.features, base.train.features[kept])


def test_step_profile_with_even_class_count():
  cfg = make_cfg(source="synthetic", num_samples=800, synthetic_classes=4,
                 long_tail=dict(profile="step", imbalance_ratio=3))
  assert build(cfg).class_counts.tolist() == [150, 150, 50, 50]


def test_train_size_then_long_tail_uses_largest_remaining_class():
  base = build(make_cfg(**SYNTH))
  bundle = build(make_cfg(train_size=1000, long_tail=dict(profile="exponential",
                                                          imbalance_ratio=5), **SYNTH))
  first = base.train.labels[:1000]  # first 1000 of the permuted pool
  n_max = np.bincount(first, minlength=5).max()
  quota = [int(n_max * 5.0 ** (-c / 4) + 1e-9) for c in range(5)]
  kept = first_per_class(first, np.arange(1000), quota)
  np.testing.assert_array_equal(bundle.info["train_origin"], base.info["train_origin"][kept])
  assert bundle.class_counts.tolist() == np.minimum(quota, np.bincount(first, minlength=5)).tolist()


def test_validation_split_is_clean_balanced_disjoint_and_first():
  base = build(make_cfg(**SYNTH))
  bundle = build(make_cfg(val_per_class=30, noise=dict(kind="class_flip", rate=0.3), **SYNTH))
  val_rows = first_per_class(base.train.labels, np.arange(3000), [30] * 5)
  np.testing.assert_array_equal(bundle.info["val_origin"], base.info["train_origin"][val_rows])
  np.testing.assert_array_equal(bundle.val.features, base.train.features[val_rows])
  assert np.bincount(bundle.val.labels).tolist() == [30] * 5
  assert not bundle.val.noise_mask.any()
  assert not set(bundle.info["val_origin"]) & set(bundle.info["train_origin"])
  assert len(bundle.train) == 3000 - 150
  # Training rows are the rest of the pool, still in permutation order.
  rest = np.delete(base.info["train_origin"], val_rows)
  np.testing.assert_array_equal(bundle.info["train_origin"], rest)


def test_class_flip_noise_moves_to_next_class():
  bundle = build(make_cfg(noise=dict(kind="class_flip", rate=0.3), **SYNTH))
  mask, train = bundle.train.noise_mask, bundle.train
  np.testing.assert_array_equal(train.labels[mask], (train.clean_labels[mask] + 1) % 5)
  assert abs(mask.mean() - 0.3) < 0.04  # binomial sd 0.008 on 3000


def test_uniform_ren_noise_redraws_the_first_share_below_the_last_class():
  """floor(0.4 n) labels, the first in permutation order, become floor(U(0, C - 1))."""
  bundle = build(make_cfg(noise=dict(kind="uniform_ren", rate=0.4), **SYNTH))
  train, corrupted = bundle.train, int(0.4 * len(bundle.train))
  np.testing.assert_array_equal(train.labels[corrupted:], train.clean_labels[corrupted:])
  drawn = np.bincount(train.labels[:corrupted], minlength=5)
  assert drawn[4] == 0 and (abs(drawn[:4] / corrupted - 0.25) < 0.04).all()
  assert abs(train.noise_mask[:corrupted].mean() - 0.8) < 0.04  # a drawn label may stay


def test_permuted_noise_shuffles_the_first_share_among_itself():
  bundle = build(make_cfg(noise=dict(kind="permuted", rate=0.4), **SYNTH))
  train, corrupted = bundle.train, int(0.4 * len(bundle.train))
  np.testing.assert_array_equal(train.labels[corrupted:], train.clean_labels[corrupted:])
  np.testing.assert_array_equal(np.sort(train.labels[:corrupted]),
                                np.sort(train.clean_labels[:corrupted]))
  assert abs(train.noise_mask[:corrupted].mean() - 0.8) < 0.04  # 5 balanced classes


def test_determinism_by_seed():
  cfg = dict(noise=dict(kind="symmetric", rate=0.4), val_per_class=10, **SYNTH)
  a, b = build(make_cfg(**cfg)), build(make_cfg(**cfg))
  c = build(make_cfg(seed=1, **cfg))
  for split in ("train", "val", "test"):
    for field in ("features", "labels", "clean_labels"):
      np.testing.assert_array_equal(getattr(getattr(a, split), field),
                                    getattr(getattr(b, split), field))
  assert not np.array_equal(a.info["train_origin"], c.info["train_origin"])
  assert not np.array_equal(a.train.labels, c.train.labels)


def test_digits_default_source():
  from sklearn.datasets import load_digits  # independent reference
  digits = load_digits()
  bundle = build(default_data_config())
  assert bundle.num_classes == 10 and bundle.class_names == tuple("0123456789")
  assert bundle.input_shape == (8, 8, 1)
  counts = np.bincount(digits.target)
  expected_test = np.floor(counts * 0.25 + 0.5).astype(int)
  assert np.bincount(bundle.test.labels).tolist() == expected_test.tolist()
  assert len(bundle.train) + len(bundle.test) == len(digits.target)
  rows = bundle.info["train_origin"]
  np.testing.assert_allclose(bundle.train.features[..., 0], digits.images[rows] / 16, atol=1e-7)
  np.testing.assert_array_equal(bundle.train.labels, digits.target[rows])
  assert bundle.train.features.min() >= 0 and bundle.train.features.max() <= 1


def test_build_accepts_partial_mapping():
  bundle = build({"source": "synthetic", "num_samples": 200, "long_tail": {"profile": "step",
                                                                           "imbalance_ratio": 2}})
  # 50 per class; 13 (= floor(12.5 + 0.5)) go to test, 37 stay, step keeps floor(37 / 2).
  assert bundle.num_classes == 4 and bundle.class_counts.tolist() == [37, 37, 18, 18]
