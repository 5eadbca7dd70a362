"""User files (csv, npz) and idx / mnist.npz lookup, round-tripped through tmp_path."""

from __future__ import annotations

import csv
import gzip
import struct

import numpy as np
import pytest

from framework.data import build, default_data_config, idx, read_idx
from framework.errors import ConfigError


def make_cfg(**fields):
  cfg = default_data_config()
  cfg.update(fields)
  return cfg


def _table(rng, n):
  amount = rng.gamma(2.0, 50.0, n)
  v1, v2 = rng.normal(3, 2, n), rng.normal(-1, 0.5, n)
  labels = (rng.random(n) < 0.3).astype(int)
  weight = rng.uniform(0.5, 2.0, n)
  return np.stack([amount, v1, v2], 1), labels, weight


def _write_csv(path, header, columns):
  with open(path, "w", newline="") as f:
    writer = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC)  # quoted header, like creditcard.csv
    writer.writerow(header)
    for row in zip(*columns):
      writer.writerow([float(v) for v in row])


def test_csv_round_trip_with_stratified_test_split(tmp_path):
  x, y, w = _table(np.random.default_rng(0), 80)
  path = tmp_path / "fraud.csv"
  _write_csv(path, ["amount", "Class", "v1", "w", "v2"], [x[:, 0], y, x[:, 1], w, x[:, 2]])
  bundle = build(make_cfg(source="csv", path=str(path), label_column="Class",
                          importance_column="w", seed=3))
  counts = np.bincount(y)
  expected_test = np.floor(counts * 0.25 + 0.5).astype(int)
  assert np.bincount(bundle.test.labels).tolist() == expected_test.tolist()
  train_rows, test_rows = bundle.info["train_origin"], bundle.info["test_origin"]
  assert sorted(np.concatenate([train_rows, test_rows]).tolist()) == list(range(80))
  pool = np.setdiff1d(np.arange(80), test_rows)
  mean, std = x[pool].mean(0), x[pool].std(0)
  assert bundle.input_shape == (3,)  # amount, v1, v2 in header order
  np.testing.assert_allclose(bundle.train.features, (x[train_rows] - mean) / std, atol=1e-5)
  np.testing.assert_allclose(bundle.test.features, (x[test_rows] - mean) / std, atol=1e-5)
  np.testing.assert_allclose(bundle.train.features.mean(0), 0, atol=1e-5)  # train == pool here
  np.testing.assert_allclose(bundle.train.features.std(0), 1, atol=1e-5)
  np.testing.assert_array_equal(bundle.train.labels, y[train_rows])
  np.testing.assert_allclose(bundle.train.importance, w[train_rows], rtol=1e-6)
  np.testing.assert_allclose(bundle.test.importance, w[test_rows], rtol=1e-6)
  assert bundle.class_names == ("0", "1") and bundle.num_classes == 2


def test_csv_separate_test_file_uses_training_statistics(tmp_path):
  rng = np.random.default_rng(1)
  x, y, w = _table(rng, 60)
  xt, yt, _ = _table(rng, 20)
  _write_csv(tmp_path / "train.csv", ["label", "amount", "v1", "v2", "w"],
             [y, x[:, 0], x[:, 1], x[:, 2], w])
  # The test file orders its columns differently and has no importance column.
  _write_csv(tmp_path / "test.csv", ["v2", "v1", "label", "amount"],
             [xt[:, 2], xt[:, 1], yt, xt[:, 0]])
  bundle = build(make_cfg(source="csv", path=str(tmp_path / "train.csv"),
                          test_path=str(tmp_path / "test.csv"), importance_column="w",
                          num_classes=3))
  mean, std = x.mean(0), x.std(0)
  np.testing.assert_allclose(bundle.test.features, (xt - mean) / std, atol=1e-5)
  np.testing.assert_array_equal(bundle.test.labels, yt)
  assert bundle.test.importance is None and bundle.num_classes == 3
  np.testing.assert_allclose(bundle.info["feature_mean"], mean)
  assert len(bundle.train) == 60


def test_npz_tabular_round_trip(tmp_path):
  rng = np.random.default_rng(2)
  x, y, w = _table(rng, 50)
  xt, yt, _ = _table(rng, 10)
  np.savez(tmp_path / "train.npz", features=x, labels=y.astype(np.float64), score=w)
  np.savez(tmp_path / "test.npz", x_test=xt, y_test=yt)
  bundle = build(make_cfg(source="npz", path=str(tmp_path / "train.npz"),
                          test_path=str(tmp_path / "test.npz"), importance_column="score",
                          val_per_class=2))
  rows = bundle.info["train_origin"]
  mean, std = x.mean(0), x.std(0)  # whole training file = pool, val included
  np.testing.assert_allclose(bundle.train.features, (x[rows] - mean) / std, atol=1e-5)
  np.testing.assert_allclose(bundle.val.features, (x[bundle.info["val_origin"]] - mean) / std,
                             atol=1e-5)
  np.testing.assert_allclose(bundle.test.features, (xt - mean) / std, atol=1e-5)
  np.testing.assert_allclose(bundle.train.importance, w[rows], rtol=1e-6)
  assert np.bincount(bundle.val.labels).tolist() == [2, 2] and len(bundle.train) == 46


def test_npz_images_with_test_arrays_in_one_file(tmp_path):
  rng = np.random.default_rng(3)
  x = rng.integers(0, 256, (40, 5, 5), dtype=np.uint8)
  y = np.arange(40) % 4
  xt = rng.integers(0, 256, (8, 5, 5), dtype=np.uint8)
  np.savez(tmp_path / "img.npz", x_train=x, y_train=y, x_test=xt, y_test=np.arange(8) % 4)
  bundle = build(make_cfg(source="npz", path=str(tmp_path / "img.npz")))
  assert bundle.input_shape == (5, 5, 1) and bundle.info["feature_mean"] is None
  np.testing.assert_array_equal(bundle.test.features[..., 0], xt)  # raw uint8
  rows = bundle.info["train_origin"]
  np.testing.assert_array_equal(bundle.train.features[..., 0], x[rows])  # raw uint8
  assert len(bundle.train) == 40


def _write_idx(path, array, code=0x08, dtype=">u1"):
  header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(
      f">{array.ndim}I", *array.shape)
  data = header + np.asarray(array, dtype=dtype).tobytes()
  opener = gzip.open if str(path).endswith(".gz") else open
  with opener(path, "wb") as f:
    f.write(data)


def test_read_idx_matches_written_arrays(tmp_path):
  values = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
  _write_idx(tmp_path / "a.idx", values, code=0x0C, dtype=">i4")
  np.testing.assert_array_equal(read_idx(str(tmp_path / "a.idx")), values)
  (tmp_path / "bad.idx").write_bytes(struct.pack(">BBBBI", 0, 0, 8, 1, 10) + b"\x01\x02")
  with pytest.raises(ConfigError, match="data.data_dir"):
    read_idx(str(tmp_path / "bad.idx"))


def _mnist_like(rng):
  return (rng.integers(0, 256, (30, 4, 4), dtype=np.uint8), np.arange(30) % 10,
          rng.integers(0, 256, (10, 4, 4), dtype=np.uint8), np.arange(10)[::-1].copy())


def test_mnist_from_idx_files_in_data_dir(tmp_path):
  x, y, xt, yt = _mnist_like(np.random.default_rng(4))
  for name, array in zip(idx.IDX_FILES, (x, y, xt, yt)):
    _write_idx(tmp_path / (name + (".gz" if "images" in name else "")), array)
  bundle = build(make_cfg(source="mnist", data_dir=str(tmp_path)))
  assert bundle.info["location"] == str(tmp_path) and bundle.class_names == tuple("0123456789")
  np.testing.assert_array_equal(bundle.test.features[..., 0], xt)  # raw uint8
  np.testing.assert_array_equal(bundle.test.labels, yt)
  perm = np.random.default_rng(0).permutation(30)
  np.testing.assert_array_equal(bundle.info["train_origin"], perm)
  np.testing.assert_array_equal(bundle.train.features[..., 0], x[perm])  # raw uint8


def test_mnist_npz_found_in_keras_cache(tmp_path, monkeypatch):
  x, y, xt, yt = _mnist_like(np.random.default_rng(5))
  monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
  (tmp_path / "kh" / "datasets").mkdir(parents=True)
  np.savez(tmp_path / "kh" / "datasets" / "mnist.npz", x_train=x, y_train=y, x_test=xt,
           y_test=yt)
  bundle = build(make_cfg(source="mnist", data_dir=str(tmp_path / "empty")))
  assert bundle.info["location"] == str(tmp_path / "kh" / "datasets")
  np.testing.assert_array_equal(bundle.test.labels, yt)
  assert bundle.input_shape == (4, 4, 1) and len(bundle.train) == 30
