"""Image files on disk: a folder of class folders, or list files of `relative/path label` lines.

  image_folder  data.path holds one sub-folder per class (Keras's
                `image_dataset_from_directory` convention: class names sorted, images found
                recursively); data.test_path the same layout for the test split.
  image_list    data.path is a text file of `relative/path label` lines (the format of
                ImageNet-LT, iNaturalist, Places-LT, Clothing1M, WebVision), the paths
                relative to data.image_root (default: the list file's folder);
                data.test_path likewise. Labels are integer class ids.

Memory holds paths and labels: the pipeline reads and decodes each file as it is needed
(`FileExamples`), at `data.image_size` (default 224). At load every file is checked to
exist and to start like a JPEG, PNG, GIF or BMP, so a bad file is a one-line error naming
it, not a crash hours into training.
"""

from __future__ import annotations

import os

import ml_collections
import numpy as np

from framework.data.examples import FileExamples
from framework.data.sources import DATASETS, Arrays, Source, listing
from framework.errors import ConfigError

EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # Keras's, case-insensitive
DEFAULT_IMAGE_SIZE = 224
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")


def check_image(path: str, where: str) -> None:
  """Raises a ConfigError unless `path` is a readable file that starts like an image."""
  try:
    with open(path, "rb") as f:
      head = f.read(8)
  except OSError as e:
    raise ConfigError(f"{where}: image {path!r} cannot be read ({e.strerror})") from None
  if not head.startswith(_SIGNATURES):
    raise ConfigError(f"{where}: {path!r} is not a JPEG, PNG, GIF or BMP image")


def _folder(field: str, path: str, class_names: tuple[str, ...] | None) -> tuple[list, list, tuple]:
  """(paths, labels, class names) of a folder of class folders."""
  if not path or not os.path.isdir(path):
    raise ConfigError(f"{field}={path!r} is not a folder; image_folder needs a folder of "
                      "class folders")
  found = tuple(sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d))))
  if not found:
    raise ConfigError(f"{field}={path!r} has no class sub-folders; expected one folder of "
                      "images per class")
  names = class_names or found
  unknown = [d for d in found if d not in names]
  if unknown:
    raise ConfigError(f"{field}={path!r} has class folders {listing(unknown)} that the "
                      f"training folder has not; classes: {listing(names)}")
  paths, labels = [], []
  for name in found:
    for root, dirs, files in os.walk(os.path.join(path, name)):
      dirs.sort()
      for file in sorted(files):
        if file.lower().endswith(EXTENSIONS):
          paths.append(os.path.join(root, file))
          labels.append(names.index(name))
  if not paths:
    raise ConfigError(f"{field}={path!r}: no image files ({', '.join(EXTENSIONS)}) in its "
                      "class folders")
  for file in paths:
    check_image(file, field)
  return paths, labels, names


def _list_file(field: str, path: str, image_root: str) -> tuple[list, list]:
  """(paths, labels) of a list file of `relative/path label` lines."""
  if not path or not os.path.isfile(path):
    raise ConfigError(f"{field}={path!r} is not a readable list file")
  root = os.path.expanduser(image_root) if image_root else os.path.dirname(os.path.abspath(path))
  paths, labels = [], []
  with open(path, encoding="utf-8") as f:
    for number, line in enumerate(f, start=1):
      if not line.strip() or line.lstrip().startswith("#"):
        continue
      parts = line.strip().rsplit(None, 1)
      if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
        raise ConfigError(f"{field}={path!r}: line {number} does not parse "
                          f"({line.strip()[:80]!r}); expected 'relative/path label'")
      file = os.path.join(root, parts[0])
      if not os.path.isfile(file):
        raise ConfigError(f"{field}={path!r}: line {number}: image {parts[0]!r} not found "
                          f"under data.image_root={root!r}")
      check_image(file, f"{field}={path!r}: line {number}")
      paths.append(file)
      labels.append(int(parts[1]))
  if not paths:
    raise ConfigError(f"{field}={path!r} lists no images")
  return paths, labels


def _arrays(paths: list, labels: list, size: int) -> Arrays:
  return Arrays(FileExamples(paths, (size, size, 3)), np.asarray(labels, np.int64))


@DATASETS.register("image_folder")
def load_image_folder(cfg: ml_collections.ConfigDict) -> Source:
  """A folder of class folders (and optionally a test folder of the same classes)."""
  size = cfg.image_size or DEFAULT_IMAGE_SIZE
  paths, labels, names = _folder("data.path", cfg.path, None)
  test = None
  if cfg.test_path:
    test = _arrays(*_folder("data.test_path", cfg.test_path, names)[:2], size)
  return Source(_arrays(paths, labels, size), test, class_names=names, location=cfg.path,
                label_field=f"data.path={cfg.path!r}")


@DATASETS.register("image_list")
def load_image_list(cfg: ml_collections.ConfigDict) -> Source:
  """List files of `relative/path label` lines (ImageNet-LT, iNaturalist, Clothing1M, ...)."""
  size = cfg.image_size or DEFAULT_IMAGE_SIZE
  pool = _arrays(*_list_file("data.path", cfg.path, cfg.image_root), size)
  test = None
  if cfg.test_path:
    test = _arrays(*_list_file("data.test_path", cfg.test_path, cfg.image_root), size)
  return Source(pool, test, location=cfg.path, label_field=f"data.path={cfg.path!r}")
