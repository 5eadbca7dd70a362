"""Sources that need no files: sklearn's bundled digits and seeded synthetic blobs."""

from __future__ import annotations

import ml_collections
import numpy as np

from framework.data import protocol
from framework.data.sources import DATASETS, Arrays, Source
from framework.errors import ConfigError

DIGIT_NAMES = tuple(str(c) for c in range(10))

# Class centres are spread so that the mean distance between two centres is this many
# within-class standard deviations: a nearest-centroid rule is good but not perfect.
_SYNTHETIC_SEPARATION = 3.0


@DATASETS.register("digits")
def load_digits(cfg: ml_collections.ConfigDict) -> Source:
  """sklearn's 1,797 8x8 digit images in [0, 1]; test split made by `build`."""
  del cfg
  from sklearn import datasets  # pylint: disable=g-import-not-at-top  (slow import)
  digits = datasets.load_digits()
  images = (digits.images / 16.0).astype(np.float32)[..., None]
  return Source(pool=Arrays(images, digits.target.astype(np.int64)), test=None,
                class_names=DIGIT_NAMES, location="sklearn.datasets.load_digits")


def _positive_int(cfg: ml_collections.ConfigDict, name: str, minimum: int) -> int:
  value = cfg[name]
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
    raise ConfigError(f"data.{name}={value!r} must be an integer >= {minimum} "
                      "(data.source='synthetic')")
  return int(value)


def make_blobs(num_samples: int, num_features: int, num_classes: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
  """Balanced Gaussian blobs (unit variance) around random centres, rows shuffled."""
  centres = rng.normal(size=(num_classes, num_features))
  gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
  mean_gap = gaps[np.triu_indices(num_classes, 1)].mean()
  centres *= _SYNTHETIC_SEPARATION / mean_gap
  labels = np.arange(num_samples) % num_classes
  rng.shuffle(labels)
  x = centres[labels] + rng.normal(size=(num_samples, num_features))
  return x.astype(np.float32), labels.astype(np.int64)


@DATASETS.register("synthetic")
def load_synthetic(cfg: ml_collections.ConfigDict) -> Source:
  """Seeded Gaussian blobs [num_samples, num_features] in synthetic_classes classes."""
  num_classes = _positive_int(cfg, "synthetic_classes", 2)
  num_samples = _positive_int(cfg, "num_samples", 2 * num_classes)
  num_features = _positive_int(cfg, "num_features", 1)
  x, y = make_blobs(num_samples, num_features, num_classes,
                    protocol.rng_for(cfg.seed, protocol.SYNTHETIC_STREAM))
  return Source(pool=Arrays(x, y), test=None, class_names=tuple(str(c) for c in range(num_classes)),
                tabular=True, location="synthetic")
