"""CIFAR-10 and CIFAR-100 from the standard python-pickle batches (fine labels for CIFAR-100).

Looked up as `cifar-10-batches-py/` / `cifar-100-python/` (or the `.tar.gz` archive) in
data.data_dir, then in the Keras cache, else downloaded through `keras.datasets`. The
images stay uint8 [n, 32, 32, 3] in memory; the pipeline scales them and normalises with
CIFAR's per-channel mean and std (REFERENCE.md; data.mean / data.std override them).
"""

from __future__ import annotations

import os
import pickle
import tarfile

import ml_collections
import numpy as np

from framework.data.idx import keras_cache_dirs, keras_download
from framework.data.sources import DATASETS, Arrays, Source
from framework.errors import ConfigError, one_line

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
# name -> (folder, archive, training members, test member, meta member, label key, names key)
LAYOUTS = {
    "cifar10": ("cifar-10-batches-py", "cifar-10-python.tar.gz",
                tuple(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta",
                b"labels", b"label_names"),
    "cifar100": ("cifar-100-python", "cifar-100-python.tar.gz", ("train",), "test", "meta",
                 b"fine_labels", b"fine_label_names"),
}


def _unpickle(raw: bytes, where: str) -> dict:
  try:
    return pickle.loads(raw, encoding="bytes")
  except Exception as e:  # pylint: disable=broad-except  (any corrupt pickle)
    raise ConfigError(f"data.data_dir: {where} is not a CIFAR pickle ({one_line(e)})") from None


def _reader(folder: str | None, archive: str | None, layout: tuple):
  """A function member name -> unpickled dict, from a folder or a .tar.gz archive."""
  if folder:
    def read(member):
      path = os.path.join(folder, member)
      if not os.path.isfile(path):
        raise ConfigError(f"data.data_dir: {folder} lacks the CIFAR file {member!r}")
      with open(path, "rb") as f:
        return _unpickle(f.read(), path)
    return read
  members = {}
  try:
    with tarfile.open(archive, "r:gz") as tar:
      for info in tar.getmembers():
        if info.isfile() and os.path.dirname(info.name) == layout[0]:
          members[os.path.basename(info.name)] = tar.extractfile(info).read()
  except (OSError, tarfile.TarError) as e:
    raise ConfigError(f"data.data_dir: cannot read {archive} ({one_line(e)})") from None
  def read(member):
    if member not in members:
      raise ConfigError(f"data.data_dir: {archive} lacks {layout[0]}/{member}")
    return _unpickle(members[member], f"{archive}:{member}")
  return read


def _arrays(batches: list[dict], label_key: bytes, where: str) -> Arrays:
  try:
    data = np.concatenate([np.asarray(b[b"data"], np.uint8) for b in batches])
    labels = np.concatenate([np.asarray(b[label_key], np.int64) for b in batches])
  except (KeyError, ValueError) as e:
    raise ConfigError(f"data.data_dir: {where} does not hold CIFAR batches "
                      f"({one_line(e)})") from None
  if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
    raise ConfigError(f"data.data_dir: {where} holds data {data.shape} and labels "
                      f"{labels.shape}; expected [n, 3072] and [n]")
  return Arrays(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels)


def _find(name: str, cfg: ml_collections.ConfigDict) -> tuple[str | None, str | None, list]:
  folder, archive = LAYOUTS[name][:2]
  dirs = ([os.path.expanduser(cfg.data_dir)] if cfg.data_dir else []) + keras_cache_dirs("")
  for directory in dirs:
    for candidate in (os.path.join(directory, folder),
                      os.path.join(directory, f"{folder}-target", folder)):
      if os.path.isdir(candidate):
        return candidate, None, dirs
    if os.path.isfile(os.path.join(directory, archive)):
      return None, os.path.join(directory, archive), dirs
  return None, None, dirs


def _load(name: str, cfg: ml_collections.ConfigDict) -> Source:
  layout = LAYOUTS[name]
  folder, archive, dirs = _find(name, cfg)
  if folder is None and archive is None:
    (x, y), (xt, yt) = keras_download(
        name, f"{layout[0]}/ or {layout[1]} not found (data.data_dir={cfg.data_dir!r}; "
        f"searched {', '.join(dirs)})", "the files")
    return Source(Arrays(x, y.reshape(-1).astype(np.int64)),
                  Arrays(xt, yt.reshape(-1).astype(np.int64)), location=f"keras.datasets.{name}",
                  mean=MEAN, std=STD)
  read = _reader(folder, archive, layout)
  where = folder or archive
  pool = _arrays([read(m) for m in layout[2]], layout[5], where)
  test = _arrays([read(layout[3])], layout[5], where)
  names = tuple(n.decode() if isinstance(n, bytes) else str(n)
                for n in read(layout[4]).get(layout[6], ()))
  return Source(pool, test, class_names=names or None, location=where, mean=MEAN, std=STD)


@DATASETS.register("cifar10")
def load_cifar10(cfg: ml_collections.ConfigDict) -> Source:
  """CIFAR-10: 50,000 training and 10,000 test 32x32 colour images in 10 classes."""
  return _load("cifar10", cfg)


@DATASETS.register("cifar100")
def load_cifar100(cfg: ml_collections.ConfigDict) -> Source:
  """CIFAR-100: 50,000 training and 10,000 test 32x32 colour images, 100 fine classes."""
  return _load("cifar100", cfg)
