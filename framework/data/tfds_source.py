"""A TensorFlow Datasets dataset (`data.name`), read through its random-access data source.

Needs the optional `tensorflow-datasets` package (`pip install "framework[tfds]"`). The
dataset must be prepared in data.data_dir (or TFDS's default folder), or downloadable. The
labels of every row are read once, with the images left encoded; the pipeline then reads
and decodes each row's image as it is needed, so memory never holds the pixels. The test
split is TFDS's "test" when it has one, else a seeded stratified split of "train".
"""

from __future__ import annotations

import ml_collections
import numpy as np

from framework.data.examples import LookupExamples
from framework.data.images import DEFAULT_IMAGE_SIZE
from framework.data.sources import DATASETS, Arrays, Source
from framework.errors import ConfigError, one_line


def _split(tfds, cfg: ml_collections.ConfigDict, split: str, size: int, channels: int) -> Arrays:
  try:
    source = tfds.data_source(cfg.name, split=split, data_dir=cfg.data_dir or None,
                              decoders={"image": tfds.decode.SkipDecoding()})
    labels = np.asarray([int(source[i]["label"]) for i in range(len(source))], np.int64)
  except Exception as e:  # pylint: disable=broad-except  (missing data, no network, ...)
    raise ConfigError(f"data.name={cfg.name!r}: cannot read split {split!r} through "
                      f"tfds.data_source ({one_line(e, 160)})") from None
  read = lambda row: source[row]["image"]
  return Arrays(LookupExamples(read, np.arange(len(labels)), (size, size, channels)), labels)


@DATASETS.register("tfds")
def load_tfds(cfg: ml_collections.ConfigDict) -> Source:
  """`data.name` from TensorFlow Datasets (an image feature "image", a label "label")."""
  try:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top  (optional)
  except ImportError:
    raise ConfigError("data.source='tfds' needs the optional tensorflow-datasets package: "
                      "pip install tensorflow-datasets importlib_resources") from None
  if not cfg.name:
    raise ConfigError("data.name='' is empty; data.source='tfds' needs a TensorFlow Datasets "
                      "name, e.g. 'cifar10'")
  try:
    info = tfds.builder(cfg.name, data_dir=cfg.data_dir or None).info
    image, label = info.features["image"], info.features["label"]
  except Exception as e:  # pylint: disable=broad-except  (unknown name, no image / label)
    raise ConfigError(f"data.name={cfg.name!r} is not a TensorFlow Datasets image "
                      f"classification dataset with 'image' and 'label' ({one_line(e, 160)})"
                      ) from None
  height, channels = image.shape[0], image.shape[-1] or 3
  size = cfg.image_size or height or DEFAULT_IMAGE_SIZE
  splits = set(info.splits.keys()) or {"train", "test"}
  pool = _split(tfds, cfg, "train", size, channels)
  test = _split(tfds, cfg, "test", size, channels) if "test" in splits else None
  return Source(pool, test, class_names=tuple(label.names), location=f"tfds:{cfg.name}")
