"""Image files on disk: a folder of class folders, or list files of `relative/path label` lines.

  image_folder  data.path holds one sub-folder per class (Keras's
                `image_dataset_from_directory` convention: class names sorted, images found
                recursively); data.test_path the same layout for the test split.
  image_list    data.path is a text file of `relative/path label` lines (the format of
                ImageNet-LT, iNaturalist, Places-LT, Clothing1M, WebVision), the paths
                relative to data.image_root (default: the list file's folder);
                data.test_path likewise. Labels are integer class ids.

Memory holds paths and labels: the pipeline reads and decodes each file as it is needed
(`FileExamples`), at `data.image_size` (default 224). At load every file is decoded once
with the pipeline's decoder (`image_check`, cached across launches), so bad files are one
error naming every one of them, not a crash hours into training; with
data.skip_bad_images they are left out before rows get their indices, and recorded.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import ml_collections
import numpy as np

from framework.data import image_check, protocol_record
from framework.data.examples import FileExamples
from framework.data.sources import DATASETS, Arrays, Source, listing, not_utf8
from framework.errors import ConfigError

EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # Keras's, case-insensitive
DEFAULT_IMAGE_SIZE = 224
CHANNELS = 3  # files decode to RGB


class _Files(NamedTuple):
  """Image files found for a split: paths, labels and how to name each file to the user."""
  paths: list[str]
  labels: list[int]
  shown: list[str]


def _folder(field: str, path: str, class_names: tuple[str, ...] | None) -> tuple[_Files, tuple]:
  """The files of a folder of class folders, and its class names."""
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
  files = _Files([], [], [])
  for name in found:
    for root, dirs, entries in os.walk(os.path.join(path, name)):
      dirs.sort()
      for entry in sorted(entries):
        if entry.lower().endswith(EXTENSIONS):
          files.paths.append(os.path.join(root, entry))
          files.labels.append(names.index(name))
          files.shown.append(os.path.relpath(files.paths[-1], path))
  if not files.paths:
    raise ConfigError(f"{field}={path!r}: no image files ({', '.join(EXTENSIONS)}) in its "
                      "class folders")
  return files, names


def _list_file(field: str, path: str, image_root: str) -> _Files:
  """The files named by a list file of `relative/path label` lines."""
  if not path or not os.path.isfile(path):
    raise ConfigError(f"{field}={path!r} is not a readable list file")
  root = os.path.expanduser(image_root) if image_root else os.path.dirname(os.path.abspath(path))
  files = _Files([], [], [])
  try:
    with open(path, encoding="utf-8-sig") as f:  # "-sig": a byte-order mark is skipped
      lines = f.readlines()
  except OSError as e:
    raise ConfigError(f"{field}={path!r} cannot be read ({e.strerror})") from None
  except UnicodeDecodeError as e:
    raise not_utf8(field, path, e) from None
  for number, line in enumerate(lines, start=1):
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
    files.paths.append(file)
    files.labels.append(int(parts[1]))
    files.shown.append(f"line {number}: {parts[0]}")
  if not files.paths:
    raise ConfigError(f"{field}={path!r} lists no images")
  return files


def _source(cfg: ml_collections.ConfigDict, files: dict[str, _Files], **fields: Any) -> Source:
  """The Source of the pool's files (files["data.path"]) and the test split's (under
  "data.test_path", if given), once every file has been decoded: files that do not decode
  are one ConfigError naming each, or with data.skip_bad_images they are left out before
  rows get their indices, and recorded."""
  values = {field: cfg[field.removeprefix("data.")] for field in files}
  where = {field: f"{field}={value!r}" for field, value in values.items()}
  bad = {field: image_check.bad_images(split.paths, values[field], CHANNELS)
         for field, split in files.items()}
  named = {field: [f"{files[field].shown[row]} ({reason})" for row, reason in sorted(rows.items())]
           for field, rows in bad.items() if rows}
  nothing_left = any(len(bad[field]) == len(files[field].paths) for field in named)
  if named and (nothing_left or not cfg.skip_bad_images):
    hint = "" if cfg.skip_bad_images else ", or set data.skip_bad_images=true to leave them out"
    raise ConfigError("; ".join(
        f"{where[field]}: {len(bad[field])} of {len(files[field].paths)} images do not decode: "
        f"{', '.join(names)}" for field, names in named.items()) + f"; fix or remove them{hint}")
  size = cfg.image_size or DEFAULT_IMAGE_SIZE
  arrays = {}
  for field, split in files.items():
    kept = [row for row in range(len(split.paths)) if row not in bad[field]]
    arrays[field] = Arrays(FileExamples([split.paths[row] for row in kept], (size, size, CHANNELS)),
                           np.asarray([split.labels[row] for row in kept], np.int64))
  changes = tuple(protocol_record.skipped_images_record(where[field], names,
                                                        len(files[field].paths))
                  for field, names in named.items())
  return Source(arrays["data.path"], arrays.get("data.test_path"), location=cfg.path,
                label_field=where["data.path"], changes=changes, **fields)


@DATASETS.register("image_folder")
def load_image_folder(cfg: ml_collections.ConfigDict) -> Source:
  """A folder of class folders (and optionally a test folder of the same classes)."""
  files = {}
  files["data.path"], names = _folder("data.path", cfg.path, None)
  if cfg.test_path:
    files["data.test_path"] = _folder("data.test_path", cfg.test_path, names)[0]
  return _source(cfg, files, class_names=names)


@DATASETS.register("image_list")
def load_image_list(cfg: ml_collections.ConfigDict) -> Source:
  """List files of `relative/path label` lines (ImageNet-LT, iNaturalist, Clothing1M, ...)."""
  files = {"data.path": _list_file("data.path", cfg.path, cfg.image_root)}
  if cfg.test_path:
    files["data.test_path"] = _list_file("data.test_path", cfg.test_path, cfg.image_root)
  return _source(cfg, files)
