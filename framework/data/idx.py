"""MNIST-family sources from the standard idx files (or Keras' mnist.npz).

Lookup order: data.data_dir, the Keras cache ($KERAS_HOME or ~/.keras, and /tmp/.keras,
under datasets/), Debian's /usr/share/datasets/<name> (package dataset-fashion-mnist), and
finally keras.datasets.<name>.load_data(), which downloads into the Keras cache.
"""

from __future__ import annotations

import functools
import gzip
import os
import struct

from absl import logging
import ml_collections
import numpy as np

from framework.data.builtin import DIGIT_NAMES
from framework.data.sources import DATASETS, Arrays, Source
from framework.errors import ConfigError, one_line

FASHION_MNIST_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                       "Shirt", "Sneaker", "Bag", "Ankle boot")
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
  """Reads an idx file (optionally .gz) into a read-only array of its declared shape."""
  stat = os.stat(path)
  return _read_idx_cached(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_idx_cached(path: str, mtime_ns: int, size: int) -> np.ndarray:
  del mtime_ns, size  # cache keys only
  opener = gzip.open if path.endswith(".gz") else open
  try:
    with opener(path, "rb") as f:
      data = f.read()
  except OSError as e:
    raise ConfigError(f"data.data_dir: cannot read idx file {path} ({one_line(e)})") from None
  if len(data) < 4 or data[0] or data[1] or data[2] not in _IDX_DTYPES:
    raise ConfigError(f"data.data_dir: {path} is not an idx file (bad magic number)")
  ndim = data[3]
  shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
  dtype = np.dtype(_IDX_DTYPES[data[2]])
  array = np.frombuffer(data, dtype=dtype, offset=4 + 4 * ndim)
  if array.size != int(np.prod(shape)):
    raise ConfigError(f"data.data_dir: {path} holds {array.size} values, its header "
                      f"declares shape {shape}")
  array = array.reshape(shape).astype(dtype.newbyteorder("="), copy=False)
  array.flags.writeable = False
  return array


def keras_cache_dirs(subdir: str) -> list[str]:
  """The directories where Keras' get_file caches datasets (see keras.utils.get_file)."""
  home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
  dirs = [os.path.join(home, "datasets", subdir), os.path.join("/tmp/.keras/datasets", subdir)]
  return list(dict.fromkeys(os.path.normpath(d) for d in dirs))


def keras_download(name: str, not_found: str, files: str):
  """`keras.datasets.<name>.load_data()`, or one line: what was not found, why the download
  failed, and which `files` to put in data.data_dir."""
  try:
    import keras  # pylint: disable=g-import-not-at-top  (slow import, only to download)
    return getattr(keras.datasets, name).load_data()
  except Exception as e:  # pylint: disable=broad-except  (any download failure)
    raise ConfigError(f"data.source={name!r}: {not_found} and keras.datasets.{name}.load_data() "
                      f"failed ({one_line(e, 120)}); put {files} in data.data_dir") from None


def find_idx_files(directory: str) -> tuple[str, ...] | None:
  """The four idx paths (plain or .gz) in `directory`, or None if any is missing."""
  found = []
  for base in IDX_FILES:
    for name in (base, base + ".gz"):
      if os.path.isfile(os.path.join(directory, name)):
        found.append(os.path.join(directory, name))
        break
    else:
      return None
  return tuple(found)


def _image_arrays(images: np.ndarray, labels: np.ndarray, where: str) -> Arrays:
  if images.ndim != 3 or len(images) != len(labels):
    raise ConfigError(f"data.data_dir: {where} holds images {images.shape} and labels "
                      f"{labels.shape}; expected [n, H, W] and [n]")
  return Arrays(images[..., None], labels.astype(np.int64))


def _from_idx(paths: tuple[str, ...]) -> tuple[Arrays, Arrays]:
  x_train, y_train, x_test, y_test = (read_idx(p) for p in paths)
  where = os.path.dirname(paths[0])
  return _image_arrays(x_train, y_train, where), _image_arrays(x_test, y_test, where)


def _from_npz(path: str) -> tuple[Arrays, Arrays]:
  try:
    with np.load(path, allow_pickle=False) as f:
      arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
  except (OSError, KeyError, ValueError) as e:
    raise ConfigError(f"data.data_dir: cannot read {path} as mnist.npz "
                      f"(needs x_train, y_train, x_test, y_test; {one_line(e)})") from None
  return (_image_arrays(arrays["x_train"], arrays["y_train"], path),
          _image_arrays(arrays["x_test"], arrays["y_test"], path))


def _load(name: str, cfg: ml_collections.ConfigDict, cache_subdir: str, extra_dirs: list[str],
          npz_name: str | None, class_names: tuple[str, ...]) -> Source:
  dirs = ([os.path.expanduser(cfg.data_dir)] if cfg.data_dir else []) + \
      keras_cache_dirs(cache_subdir) + extra_dirs
  for directory in dirs:
    paths = find_idx_files(directory)
    npz = os.path.join(directory, npz_name) if npz_name else None
    if paths is None and not (npz and os.path.isfile(npz)):
      continue
    pool, test = _from_idx(paths) if paths else _from_npz(npz)
    logging.info("data: %s read from %s", name, directory)
    return Source(pool, test, class_names=class_names, location=directory)
  (x_train, y_train), (x_test, y_test) = keras_download(
      name, f"data files not found (data.data_dir={cfg.data_dir!r}; searched {', '.join(dirs)})",
      "the idx files")
  return Source(_image_arrays(x_train, y_train, "download"),
                _image_arrays(x_test, y_test, "download"), class_names=class_names,
                location=f"keras.datasets.{name}")


@DATASETS.register("fashion_mnist")
def load_fashion_mnist(cfg: ml_collections.ConfigDict) -> Source:
  """Fashion-MNIST: 60,000 training and 10,000 test 28x28 images in 10 classes."""
  return _load("fashion_mnist", cfg, "fashion-mnist", ["/usr/share/datasets/fashion-mnist"],
               None, FASHION_MNIST_NAMES)


@DATASETS.register("mnist")
def load_mnist(cfg: ml_collections.ConfigDict) -> Source:
  """MNIST from idx files or Keras' mnist.npz (x_train, y_train, x_test, y_test)."""
  return _load("mnist", cfg, "", [], "mnist.npz", DIGIT_NAMES)
