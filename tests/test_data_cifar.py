"""CIFAR-10 / CIFAR-100 from fake python-pickle batches in the real format and real sizes.

The fakes have the real file names, keys, dtypes and sizes (50,000 training and 10,000 test
rows of 3,072 channel-major bytes; 5,000 / 500 training images a class) with random
pixels, so the long-tailed subsets must have exactly the published sizes of CIFAR-10-LT
and CIFAR-100-LT (Cao et al. 2019; Cui et al. 2019).
"""

from __future__ import annotations

import json
import os
import pickle
import tarfile

import numpy as np
import pytest

from framework.data import build, cifar, default_data_config
from framework.errors import ConfigError

# (classes, IR) -> training examples kept, as published for CIFAR-10-LT / CIFAR-100-LT.
LT_TOTALS = {(10, 100): 12406, (10, 50): 13996, (10, 10): 20431,
             (100, 100): 10847, (100, 50): 12608, (100, 10): 19573}
CIFAR10_LT_100 = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
MARK = (200, 100, 50)  # RGB written at row 0, y=1, x=2 of every file: a known pixel


def _rows(rng, labels):
  data = np.frombuffer(rng.bytes(len(labels) * 3072), np.uint8).reshape(-1, 3072).copy()
  for c, value in enumerate(MARK):  # channel-major: plane c, then row y, then column x
    data[0, c * 1024 + 1 * 32 + 2] = value
  return data


def _dump(path, obj, protocol):
  with open(path, "wb") as f:
    pickle.dump(obj, f, protocol=protocol)


def _protocol(per_class):
  """Protocol 2, as in the real (Python 2) files, for small fakes; Python 3 writes protocol
  2 bytes through latin-1 text, slow at 180 MB, so the real-size fakes use the default."""
  return 2 if per_class < 100 else pickle.DEFAULT_PROTOCOL


def write_cifar10(root, per_class=5000, test_per_class=1000, seed=0):
  """cifar-10-batches-py/: data_batch_1..5, test_batch, batches.meta."""
  rng, protocol = np.random.default_rng(seed), _protocol(per_class)
  folder = os.path.join(root, "cifar-10-batches-py")
  os.makedirs(folder, exist_ok=True)
  labels = rng.permutation(np.repeat(np.arange(10), per_class))
  for i, part in enumerate(np.split(labels, 5), start=1):
    _dump(os.path.join(folder, f"data_batch_{i}"),
          {b"batch_label": f"training batch {i} of 5".encode(), b"labels": part.tolist(),
           b"data": _rows(rng, part), b"filenames": [b"x.png"] * len(part)}, protocol)
  test = rng.permutation(np.repeat(np.arange(10), test_per_class))
  _dump(os.path.join(folder, "test_batch"),
        {b"batch_label": b"testing batch 1 of 1", b"labels": test.tolist(),
         b"data": _rows(rng, test), b"filenames": [b"x.png"] * len(test)}, protocol)
  names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse",
           b"ship", b"truck"]
  _dump(os.path.join(folder, "batches.meta"),
        {b"num_cases_per_batch": len(labels) // 5, b"label_names": names, b"num_vis": 3072},
        protocol)
  return folder


def write_cifar100(root, per_class=500, test_per_class=100, seed=1):
  """cifar-100-python/: train, test, meta (fine and coarse labels)."""
  rng, protocol = np.random.default_rng(seed), _protocol(per_class)
  folder = os.path.join(root, "cifar-100-python")
  os.makedirs(folder, exist_ok=True)
  for name, n in (("train", per_class), ("test", test_per_class)):
    fine = rng.permutation(np.repeat(np.arange(100), n))
    _dump(os.path.join(folder, name),
          {b"filenames": [b"x.png"] * len(fine), b"batch_label": name.encode(),
           b"fine_labels": fine.tolist(), b"coarse_labels": (fine // 5).tolist(),
           b"data": _rows(rng, fine)}, protocol)
  _dump(os.path.join(folder, "meta"),
        {b"fine_label_names": [f"fine{c:02d}".encode() for c in range(100)],
         b"coarse_label_names": [f"coarse{c:02d}".encode() for c in range(20)]}, protocol)
  return folder


def _load(path):
  with open(path, "rb") as f:
    return pickle.load(f, encoding="bytes")


def _pixel(rows, n, y, x, c):
  """Pixel (y, x, channel c) of row n, read from the channel-major bytes by its offset."""
  return rows[n, c * 1024 + y * 32 + x]


@pytest.fixture(scope="module")
def real_size(tmp_path_factory):
  root = tmp_path_factory.mktemp("cifar")
  write_cifar10(str(root))
  write_cifar100(str(root))
  return str(root)


def make_cfg(**fields):
  cfg = default_data_config()
  cfg.update(fields)
  return cfg


@pytest.mark.parametrize("source, classes", [("cifar10", 10), ("cifar100", 100)])
def test_long_tailed_counts_are_the_published_ones(real_size, source, classes):
  bundle = build(make_cfg(source=source, data_dir=real_size))
  n_max = 50000 // classes
  assert bundle.class_counts.tolist() == [n_max] * classes and len(bundle.test) == 10000
  for ratio in (100, 50, 10):
    lt = build(make_cfg(source=source, data_dir=real_size,
                        long_tail=dict(profile="exponential", imbalance_ratio=ratio)))
    counts = lt.class_counts
    assert counts.sum() == LT_TOTALS[classes, ratio], (source, ratio)
    assert counts[0] == n_max and counts[-1] == n_max // ratio
    assert (np.diff(counts) <= 0).all()
    if (classes, ratio) == (10, 100):
      assert counts.tolist() == CIFAR10_LT_100
    assert len(lt.test) == 10000  # the test split stays balanced and whole
    assert np.bincount(lt.test.labels).tolist() == [10000 // classes] * classes


def test_cifar10_pixels_labels_and_names_arrive_unchanged(real_size):
  folder = os.path.join(real_size, "cifar-10-batches-py")
  batches = [_load(os.path.join(folder, f"data_batch_{i}")) for i in range(1, 6)]
  pool = np.concatenate([b[b"data"] for b in batches])
  pool_labels = np.concatenate([b[b"labels"] for b in batches])
  test = _load(os.path.join(folder, "test_batch"))
  bundle = build(make_cfg(source="cifar10", data_dir=real_size))

  assert bundle.class_names[:3] == ("airplane", "automobile", "bird")
  assert bundle.class_names[-1] == "truck" and bundle.info["location"] == folder
  images = bundle.test.features
  assert images.dtype == np.uint8 and images.shape == (10000, 32, 32, 3)
  assert images[0, 1, 2].tolist() == list(MARK)  # channel-major rows decoded to HWC
  np.testing.assert_array_equal(bundle.test.labels, test[b"labels"])
  rng = np.random.default_rng(7)
  for n, y, x, c in zip(rng.integers(0, 10000, 50), rng.integers(0, 32, 50),
                        rng.integers(0, 32, 50), rng.integers(0, 3, 50)):
    assert images[n, y, x, c] == _pixel(test[b"data"], n, y, x, c)
  origin = bundle.info["train_origin"]  # training row i is pool row origin[i]
  np.testing.assert_array_equal(bundle.train.labels, pool_labels[origin])
  for i, y, x, c in zip(rng.integers(0, 50000, 50), rng.integers(0, 32, 50),
                        rng.integers(0, 32, 50), rng.integers(0, 3, 50)):
    assert bundle.train.features[i, y, x, c] == _pixel(pool, origin[i], y, x, c)
  first = int(np.flatnonzero(origin == 10000)[0])  # row 0 of data_batch_3
  assert bundle.train.features[first, 1, 2].tolist() == list(MARK)

  transform = bundle.transform
  assert transform.mean == cifar.MEAN == (0.4914, 0.4822, 0.4465)
  assert transform.std == cifar.STD == (0.2023, 0.1994, 0.2010)
  assert transform.pixel_max == 255.0
  mine = build(make_cfg(source="cifar10", data_dir=real_size, mean=(0.5,), std=(0.25,)))
  assert mine.transform.mean == (0.5,) * 3 and mine.transform.std == (0.25,) * 3


def test_cifar100_fine_labels_and_names(real_size):
  folder = os.path.join(real_size, "cifar-100-python")
  train = _load(os.path.join(folder, "train"))
  bundle = build(make_cfg(source="cifar100", data_dir=real_size))
  assert bundle.num_classes == 100 and bundle.class_names[7] == "fine07"
  origin = bundle.info["train_origin"]
  np.testing.assert_array_equal(bundle.train.labels, np.asarray(train[b"fine_labels"])[origin])
  assert bundle.train.features[int(np.flatnonzero(origin == 0)[0]), 1, 2].tolist() == list(MARK)


def _small_archive(tmp_path):
  """A tiny CIFAR-10 as the .tar.gz the Toronto site serves."""
  write_cifar10(str(tmp_path / "src"), per_class=3, test_per_class=2, seed=4)
  with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as tar:
    tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
  return tmp_path / "cifar-10-python.tar.gz"


def test_the_tar_gz_archive_is_read_in_place(tmp_path):
  archive = _small_archive(tmp_path)
  expected = _load(tmp_path / "src" / "cifar-10-batches-py" / "test_batch")
  bundle = build(make_cfg(source="cifar10", data_dir=str(tmp_path)))
  assert bundle.info["location"] == str(archive) and len(bundle.train) == 30
  assert bundle.class_names[9] == "truck"
  np.testing.assert_array_equal(bundle.test.labels, expected[b"labels"])
  assert bundle.test.features[0, 1, 2].tolist() == list(MARK)
  assert bundle.test.features[3, 4, 5, 1] == _pixel(expected[b"data"], 3, 4, 5, 1)


def test_found_in_the_keras_cache(tmp_path, monkeypatch):
  monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
  cache = tmp_path / "kh" / "datasets"
  # Keras 3 extracts into <name>-target/<name>; older Keras into <name>.
  write_cifar10(str(cache / "cifar-10-batches-py-target"), per_class=3, test_per_class=2)
  write_cifar100(str(cache), per_class=2, test_per_class=1)
  ten = build(make_cfg(source="cifar10", data_dir=str(tmp_path / "empty")))
  assert ten.info["location"] == str(cache / "cifar-10-batches-py-target" / "cifar-10-batches-py")
  hundred = build(make_cfg(source="cifar100"))
  assert hundred.info["location"] == str(cache / "cifar-100-python")
  assert len(hundred.train) == 200 and len(hundred.test) == 100


def test_missing_dataset_without_network_is_one_line(tmp_path, monkeypatch):
  monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
  monkeypatch.setattr(cifar, "keras_cache_dirs", lambda _: [str(tmp_path / "kh" / "datasets")])
  import keras  # pylint: disable=g-import-not-at-top
  def offline():  # what keras.utils.get_file raises with no network
    raise Exception("URL fetch failure on https://www.cs.toronto.edu/~kriz/"
                    "cifar-10-python.tar.gz: None -- [Errno -3]\nTemporary failure in name "
                    "resolution")
  monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
  with pytest.raises(ConfigError) as info:
    build(make_cfg(source="cifar10", data_dir=str(tmp_path / "nothing")))
  message = str(info.value)
  assert "\n" not in message
  for part in ("data.source='cifar10'", "cifar-10-batches-py/", "cifar-10-python.tar.gz",
               f"data.data_dir='{tmp_path / 'nothing'}'", "URL fetch failure",
               "put the files in data.data_dir"):
    assert part in message, message


def test_a_corrupt_batch_is_one_line(tmp_path):
  folder = write_cifar10(str(tmp_path), per_class=2, test_per_class=1)
  with open(os.path.join(folder, "data_batch_3"), "wb") as f:
    f.write(b"not a pickle")
  with pytest.raises(ConfigError, match="data_batch_3 is not a CIFAR pickle") as info:
    build(make_cfg(source="cifar10", data_dir=str(tmp_path)))
  assert "\n" not in str(info.value)
  os.remove(os.path.join(folder, "data_batch_3"))
  with pytest.raises(ConfigError, match="lacks the CIFAR file 'data_batch_3'"):
    build(make_cfg(source="cifar10", data_dir=str(tmp_path)))


@pytest.mark.slow
def test_smoke_run_on_fake_cifar10_with_crop_flip(real_size, tmp_path):
  """A few steps end to end on the real-size fake (1,024 training images, 8 steps)."""
  from framework import train  # pylint: disable=g-import-not-at-top
  from framework.config import base_config  # pylint: disable=g-import-not-at-top
  c = base_config()
  c.data.source, c.data.data_dir, c.data.augment = "cifar10", real_size, "crop_flip"
  c.data.train_size = 1024
  c.model.name, c.model.kwargs = "small_cnn", {"filters": (8,), "dense": 16}
  c.train.batch_size, c.train.epochs = 128, 1
  results = train.run(c, str(tmp_path / "run"), verbose=False)
  assert results["step"] == 8 and sum(results["class_counts"]) == 1024
  assert sum(results["final"]["support"]) == 10000
  saved = json.loads((tmp_path / "run" / "results.json").read_text())
  assert saved["class_names"][0] == "airplane" and saved["config"]["data"]["augment"] == "crop_flip"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
  """CIFAR-10 and CIFAR-100 in the real format, 60 / 20 images a class, 10 / 2 for test."""
  root = tmp_path_factory.mktemp("small_cifar")
  write_cifar10(str(root), per_class=60, test_per_class=10)
  write_cifar100(str(root), per_class=20, test_per_class=2)
  return str(root)


@pytest.mark.parametrize("spec, overrides", [
    # the LDAM-DRW recipe as written (ResNet-32, torch's SGD, warm-up, l2_all), DRW from epoch 1
    ("cifar10_lt:ldam_drw_cao", {"class_weights.start_epoch": 1}),
    # the noisy recipe's rule and data on a narrow WRN (WRN-28-10 is too slow for a CPU test)
    ("cifar_noisy:mwnet_shu", {"model.kwargs": {"depth": 10, "width": 1},
                               "data.val_per_class": 10}),
])
@pytest.mark.slow
def test_paper_configs_run_on_fake_cifar(small, tmp_path, spec, overrides):
  """Two short epochs of a paper's experiment file on generated CIFAR batches (IR 10, as
  the fakes hold too few images a class for IR 100)."""
  from framework import train  # pylint: disable=g-import-not-at-top
  from framework.config import load_experiment  # pylint: disable=g-import-not-at-top
  name, variant = spec.split(":")
  c = load_experiment(name).get_config(variant)
  c.data.data_dir = small
  if c.data.long_tail.profile != "none":
    c.data.long_tail.imbalance_ratio = 10.0
  c.train.epochs, c.train.batch_size, c.train.val_batch_size = 2, 32, 20
  c.train.eval_every_epochs = 1
  c.data.drop_remainder = True  # full batches only: the step count below
  for field, value in overrides.items():
    section, key = field.split(".")
    c[section][key] = value
  results = train.run(c, str(tmp_path / "run"), verbose=False)
  assert results["step"] == 2 * (sum(results["class_counts"]) // 32) > 0
  assert np.isfinite(results["final"]["accuracy"])
  assert results["config"]["optimizer"]["name"] == "torch_sgd"
