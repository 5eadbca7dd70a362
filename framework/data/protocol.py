"""The protocol steps applied to a source's pool, as pure NumPy functions on row indices.

All steps keep rows in the order of the seeded pool permutation, so "the first k of a
class" always means the first k of that class in permutation order.
"""

from __future__ import annotations

import numpy as np

from framework.errors import ConfigError
from framework.config.registry import Registry

# Independent generator streams derived from data.seed. The pool permutation itself is
# np.random.default_rng(seed).permutation(n); the others use default_rng([seed, STREAM]) so
# that e.g. turning label noise on does not change which examples are kept.
TEST_SPLIT_STREAM = 1
NOISE_STREAM = 2
SYNTHETIC_STREAM = 3
FOLDS_STREAM = 4

LONG_TAIL: Registry[np.ndarray] = Registry("long-tail profile")
NOISE: Registry[np.ndarray] = Registry("label-noise kind")


def rng_for(seed: int, stream: int) -> np.random.Generator:
  return np.random.default_rng([seed, stream])


def rank_within_class(labels: np.ndarray, num_classes: int) -> np.ndarray:
  """rank[i] = number of j < i with labels[j] == labels[i] (position within its class)."""
  order = np.argsort(labels, kind="stable")
  starts = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=num_classes))[:-1]])
  rank = np.empty(len(labels), dtype=np.int64)
  rank[order] = np.arange(len(labels)) - starts[labels[order]]
  return rank


def stratified_split(labels: np.ndarray, fraction: float, num_classes: int,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
  """Seeded stratified split: round(fraction * n_c) of each class go to the second part.

  Returns (keep_rows, held_out_rows), both sorted, as indices into `labels`.
  """
  perm = rng.permutation(len(labels))
  counts = np.bincount(labels, minlength=num_classes)
  held_counts = np.floor(counts * fraction + 0.5).astype(np.int64)
  held = rank_within_class(labels[perm], num_classes) < held_counts[labels[perm]]
  return np.sort(perm[~held]), np.sort(perm[held])


def validation_split(labels: np.ndarray, order: np.ndarray, per_class: int, num_classes: int,
                     class_names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
  """First `per_class` rows of each class in `order` form the validation split.

  Returns (val_rows, remaining_rows), both in `order`'s order.
  """
  if per_class == 0:
    return order[:0], order
  counts = np.bincount(labels[order], minlength=num_classes)
  if counts.min() <= per_class:
    c = int(np.argmin(counts))
    raise ConfigError(
        f"data.val_per_class={per_class} is too large: class {c} ({class_names[c]!r}) has "
        f"{counts[c]} examples in the pool; it must be < the smallest class size {counts[c]}")
  return _first_of_each_class(labels, order, np.full(num_classes, per_class))


def validation_fraction_split(labels: np.ndarray, order: np.ndarray, fraction: float,
                              num_classes: int, class_names: tuple[str, ...]
                              ) -> tuple[np.ndarray, np.ndarray]:
  """Stratified: the first round(fraction * n_c) rows of class c in `order`, at least 1 and at
  most n_c - 1, so no class with examples is left empty in training or validation.

  Returns (val_rows, remaining_rows), both in `order`'s order.
  """
  counts = np.bincount(labels[order], minlength=num_classes)
  small = np.flatnonzero((counts > 0) & (counts < 2))
  if len(small):
    c = int(small[0])
    raise ConfigError(f"data.val_fraction={fraction} cannot keep class {c} "
                      f"({class_names[c]!r}, {counts[c]} example in the pool) in both training "
                      "and validation; every class needs at least 2 examples (or set 0)")
  per_class = np.clip(np.floor(counts * fraction + 0.5), 1, counts - 1).astype(np.int64)
  return _first_of_each_class(labels, order, np.where(counts > 0, per_class, 0))


def _first_of_each_class(labels: np.ndarray, order: np.ndarray,
                         per_class: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(the first per_class[c] rows of each class c in `order`, the other rows), in order."""
  ordered = labels[order]
  is_val = rank_within_class(ordered, len(per_class)) < per_class[ordered]
  return order[is_val], order[~is_val]


def take_train_size(order: np.ndarray, train_size: int) -> np.ndarray:
  """The first `train_size` rows of `order` (all of them for 0)."""
  if train_size == 0:
    return order
  if train_size > len(order):
    raise ConfigError(f"data.train_size={train_size} exceeds the {len(order)} examples left in "
                      "the pool after the validation split; use 0 (all) or fewer")
  return order[:train_size]


@LONG_TAIL.register("none")
def no_long_tail(class_sizes: np.ndarray, imbalance_ratio: float) -> np.ndarray:
  del imbalance_ratio
  return class_sizes.copy()


@LONG_TAIL.register("exponential")
def exponential_profile(class_sizes: np.ndarray, imbalance_ratio: float) -> np.ndarray:
  """n_c = floor(n_max * (1/IR)^(c/(C-1))): class 0 keeps n_max, class C-1 n_max / IR."""
  num_classes = len(class_sizes)
  exponent = np.arange(num_classes) / max(num_classes - 1, 1)
  n_max = float(class_sizes.max())
  return np.floor(n_max * (1.0 / imbalance_ratio) ** exponent + 1e-9).astype(np.int64)


@LONG_TAIL.register("step")
def step_profile(class_sizes: np.ndarray, imbalance_ratio: float) -> np.ndarray:
  """Classes c < C//2 keep n_max, classes c >= C//2 keep floor(n_max / IR)."""
  num_classes = len(class_sizes)
  n_max = float(class_sizes.max())
  minority = np.floor(n_max / imbalance_ratio + 1e-9)
  return np.where(np.arange(num_classes) < num_classes // 2, n_max, minority).astype(np.int64)


def long_tail(labels: np.ndarray, order: np.ndarray, profile: str, imbalance_ratio: float,
              num_classes: int) -> np.ndarray:
  """Keeps the first n_c rows of class c in `order` (n_c from the profile); order preserved."""
  fn = LONG_TAIL.get(profile, "data.long_tail.profile")
  sizes = np.bincount(labels[order], minlength=num_classes)
  target = np.asarray(fn(sizes, imbalance_ratio), dtype=np.int64)
  if target.shape != (num_classes,):
    raise ValueError(f"long-tail profile {profile!r} returned shape {target.shape}, "
                     f"expected ({num_classes},)")
  if profile != "none" and (target < 1).any():
    c = int(np.argmin(target))
    raise ConfigError(
        f"data.long_tail.imbalance_ratio={imbalance_ratio} leaves class {c} with no examples "
        f"(largest class has {sizes.max()}); it must be <= {sizes.max()}")
  keep = rank_within_class(labels[order], num_classes) < target[labels[order]]
  return order[keep]


@NOISE.register("none")
def no_noise(labels: np.ndarray, rate: float, num_classes: int,
             rng: np.random.Generator) -> np.ndarray:
  del rate, num_classes, rng
  return labels.copy()


@NOISE.register("symmetric")
def symmetric_noise(labels: np.ndarray, rate: float, num_classes: int,
                    rng: np.random.Generator) -> np.ndarray:
  """With probability `rate` a label is redrawn uniformly from all C classes (may stay)."""
  resample = rng.random(len(labels)) < rate
  drawn = rng.integers(0, num_classes, size=len(labels))
  return np.where(resample, drawn, labels)


@NOISE.register("class_flip")
def class_flip_noise(labels: np.ndarray, rate: float, num_classes: int,
                     rng: np.random.Generator) -> np.ndarray:
  """With probability `rate` class c becomes (c + 1) % C (pair-flip, asymmetric noise)."""
  flip = rng.random(len(labels)) < rate
  return np.where(flip, (labels + 1) % num_classes, labels)


@NOISE.register("uniform_ren")
def uniform_ren_noise(labels: np.ndarray, rate: float, num_classes: int,
                      rng: np.random.Generator) -> np.ndarray:
  """Ren et al.'s construction (learning to reweight): the first floor(rate * n) labels, a
  random subset since rows are in the seeded permutation's order, become floor(U(0, C - 1)),
  so class C - 1 is never drawn and a label may stay."""
  corrupted = int(np.floor(len(labels) * rate))
  noisy = labels.copy()
  noisy[:corrupted] = np.floor(rng.uniform(0, num_classes - 1, corrupted))
  return noisy


@NOISE.register("permuted")
def permuted_noise(labels: np.ndarray, rate: float, num_classes: int,
                   rng: np.random.Generator) -> np.ndarray:
  """Saxena et al.'s construction (data parameters): the first floor(rate * n) labels, a
  random subset, shuffled among themselves, so class counts are kept and a label may stay."""
  del num_classes
  corrupted = int(np.floor(len(labels) * rate))
  noisy = labels.copy()
  noisy[:corrupted] = labels[:corrupted][rng.permutation(corrupted)]
  return noisy


def add_label_noise(labels: np.ndarray, kind: str, rate: float, num_classes: int,
                    rng: np.random.Generator) -> np.ndarray:
  fn = NOISE.get(kind, "data.noise.kind")
  noisy = np.asarray(fn(labels, rate, num_classes, rng), dtype=np.int64)
  if noisy.shape != labels.shape:
    raise ValueError(f"label-noise kind {kind!r} returned shape {noisy.shape}, "
                     f"expected {labels.shape}")
  return noisy


def pool_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Per-feature mean and std (std 1 for constant features), float64."""
  x = np.asarray(x, dtype=np.float64)
  mean, std = x.mean(axis=0), x.std(axis=0)
  return mean, np.where(std > 0, std, 1.0)


def standardize(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
  """float32 (x - mean) / std, computed in float64."""
  return ((np.asarray(x, dtype=np.float64) - mean) / std).astype(np.float32)
