"""`build(cfg) -> DataBundle`: load a source and apply the data protocol in a fixed order.

1. load the pool and test split (a seeded stratified split of the pool by data.test_fraction
   when the source has none);
2. permute the pool with np.random.default_rng(data.seed);
3. validation: the first data.val_per_class examples of each class in permutation order,
   removed from the pool (clean, balanced), or data.val_fraction of each class (clean,
   stratified, never emptying a class);
4. data.train_size: the first train_size remaining examples in permutation order;
5. long tail: keep the first n_c examples of class c (n_c from data.long_tail.profile, with
   n_max the largest class left), rows stay in permutation order;
6. label noise on the training split only, from its own generator, so turning noise on
   never changes which examples are kept;
7. leave-out: the training examples data.leave_out.file lists (its first
   data.leave_out.count), by their index in the training split of steps 1-6 (the `index`
   of a label-issues csv), removed (`framework.data.leave_out`);
8. cross-validation: with data.folds.count = k, the training split cut into k folds by
   `framework.data.folds.fold_of` (seeded, stratified by given label), fold
   data.folds.held_out removed.
The training examples left are re-indexed 0..N'-1 in order; `info["train_origin"]` still
gives each one's row in the pool. Steps 5-8, when switched on, are recorded in
`DataBundle.info["protocol"]` (counts before and after) and announced by the run, after
what the source changed at load (`Source.changes`: image files that do not decode, left
out with data.skip_bad_images).
Tabular features are standardised with the statistics of the whole training pool (before
steps 3-6), so the scaling does not depend on the protocol; a csv's raw cells are first
encoded (`framework.data.columns`: missing values filled, categories one-hot) with
statistics of that pool.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from absl import logging
import ml_collections
import numpy as np

# Importing the source modules registers their datasets.
from framework.data import builtin, cifar, idx, images, tabular, tfds_source  # noqa: F401
import tensorflow as tf

from framework.data import augment, columns, leave_out, protocol, protocol_record
from framework.data.augment import InputTransform
from framework.data.bundle import DataBundle, Split
from framework.data.folds import fold_of
from framework.data.sources import DATASETS, Arrays, Source, as_int_labels
from framework.config import fields
from framework.errors import ConfigError


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
  out = dict(base)
  for key, value in override.items():
    if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
      out[key] = _merge(out[key], value)
    else:
      out[key] = value
  return out


def default_data_config() -> ml_collections.ConfigDict:
  """`config.data` with every field at its default (declared in framework.config.fields)."""
  return fields.defaults("data")


def resolve_config(cfg: ml_collections.ConfigDict | Mapping[str, Any]) -> ml_collections.ConfigDict:
  """`cfg` completed with the defaults of any field it lacks."""
  given = cfg.to_dict() if isinstance(cfg, ml_collections.ConfigDict) else dict(cfg)
  return ml_collections.ConfigDict(_merge(default_data_config().to_dict(), given))


def check_config(cfg: ml_collections.ConfigDict, registered_source: bool = True) -> None:
  """Fails fast (before any file is read) on values no source could accept; data.source is
  a registered name unless the source is given."""
  fields.check_fields(cfg, "data", skip=() if registered_source else ("data.source",))
  if cfg.class_names and cfg.source != "csv":
    raise ConfigError(f"data.class_names={list(cfg.class_names)!r} names the labels of a csv; "
                      f"data.source={cfg.source!r} has its own: leave it empty")
  if cfg.val_fraction and cfg.val_per_class:
    raise ConfigError(f"data.val_fraction={cfg.val_fraction} and data.val_per_class="
                      f"{cfg.val_per_class} both set the validation split; set one, the other 0")
  lt, noise = cfg.long_tail, cfg.noise
  if lt.profile == "none" and lt.imbalance_ratio != 1:
    raise ConfigError(f"data.long_tail.imbalance_ratio={lt.imbalance_ratio!r} has no effect with "
                      "data.long_tail.profile='none'; set the profile (exponential, step) or 1")
  if noise.kind == "none" and noise.rate != 0:
    raise ConfigError(f"data.noise.rate={noise.rate!r} has no effect with data.noise.kind='none'; "
                      "set the kind (symmetric, class_flip) or 0")
  if not cfg.leave_out.file and cfg.leave_out.count:
    raise ConfigError(f"data.leave_out.count={cfg.leave_out.count} has no effect without "
                      "data.leave_out.file; name the file or set 0")
  folds = cfg.folds
  if folds.held_out >= max(folds.count, 1):
    raise ConfigError(f"data.folds.held_out={folds.held_out} must be < data.folds.count="
                      f"{folds.count}" + ("" if folds.count else " (folds off: set 0)"))


MAX_CLASSES = 1_000_000


def _num_classes(cfg: ml_collections.ConfigDict, source: Source,
                 labels: np.ndarray) -> tuple[int, tuple[str, ...]]:
  low, high = int(labels.min()), int(labels.max())
  if low < 0:
    raise ConfigError(f"{source.label_field}: label {low} found; labels must be integer class "
                      "ids >= 0")
  if source.class_names is not None:
    num_classes = len(source.class_names)
    if cfg.num_classes not in (0, num_classes):
      raise ConfigError(f"data.num_classes={cfg.num_classes} does not match "
                        f"data.source={cfg.source!r}, which has {num_classes} classes; use 0 "
                        f"or {num_classes}")
    if high >= num_classes:
      raise ConfigError(f"{source.label_field}: label {high} found; labels must lie in "
                        f"[0, {num_classes})")
    return num_classes, tuple(source.class_names)
  if cfg.num_classes:
    if cfg.num_classes > MAX_CLASSES:
      raise ConfigError(f"data.num_classes={cfg.num_classes} must be <= {MAX_CLASSES}")
    if high >= cfg.num_classes:
      raise ConfigError(f"data.num_classes={cfg.num_classes} but label {high} found "
                        f"({source.label_field}); labels must lie in [0, {cfg.num_classes})")
    num_classes = int(cfg.num_classes)
  else:
    num_classes = high + 1
    if num_classes > len(labels):
      raise ConfigError(f"{source.label_field}: label {high} found among {len(labels)} "
                        "examples; labels must be class ids 0..C-1 (set data.num_classes "
                        "to allow classes without examples)")
    if num_classes < 2:
      raise ConfigError(f"data.num_classes=0 inferred {num_classes} class from the labels "
                        f"({source.label_field}); at least 2 classes are needed")
  return num_classes, tuple(str(c) for c in range(num_classes))


def _training_subset(cfg: ml_collections.ConfigDict, labels: np.ndarray,
                     num_classes: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
  """Steps 7 and 8: the rows of the training split (given `labels`) that stay, in order,
  and the records of what was removed."""
  rows, records = np.arange(len(labels)), []
  if cfg.leave_out.file:
    path, out = leave_out.leave_out_rows(cfg.leave_out.file, cfg.leave_out.count, cfg.seed,
                                         len(labels))
    rows = np.setdiff1d(rows, out)
    records.append(protocol_record.leave_out_record(path, labels, labels[rows], num_classes))
  if cfg.folds.count:
    fold = fold_of(labels[rows], cfg.seed, cfg.folds.count)
    kept = rows[fold != cfg.folds.held_out]
    records.append(protocol_record.folds_record(cfg.folds.count, cfg.folds.held_out,
                                                labels[rows], labels[kept], num_classes))
    rows = kept
  return rows, records


def _split(arrays: Arrays, rows: np.ndarray, labels: np.ndarray, clean: np.ndarray,
           stats: tuple[np.ndarray, np.ndarray] | None) -> Split:
  taken = arrays.take(rows)
  examples = taken.examples
  if stats is not None:  # tabular: standardised once, in float64, with the pool's statistics
    examples = protocol.standardize(examples.array, *stats)
  return Split(examples, labels.astype(np.int32), clean.astype(np.int32), taken.importance,
               taken.source_rows)


def _transform(cfg: ml_collections.ConfigDict, source: Source) -> InputTransform:
  """The pipeline's transform: data.augment, data.image_size, data.mean / data.std (or the
  source's defaults), pixels scaled to [0, 1] when stored as uint8."""
  examples = source.pool.examples
  shape = tuple(examples.shape)
  if len(shape) != 3:
    if cfg.augment != "none":
      raise ConfigError(f"data.augment={cfg.augment!r} needs images; data.source="
                        f"{cfg.source!r} has features of shape {shape}: use 'none'")
    return InputTransform(shape)
  size = cfg.image_size or shape[0]
  try:
    mean = augment.channel_stats(cfg.mean or source.mean or 0.0, shape[-1], "data.mean")
    std = augment.channel_stats(cfg.std or source.std or 1.0, shape[-1], "data.std")
  except ValueError as e:
    raise ConfigError(str(e)) from None
  if min(std) <= 0:
    raise ConfigError(f"data.std={tuple(std)} must be > 0")
  identity = all(m == 0 for m in mean) and all(v == 1 for v in std)
  return InputTransform(
      (size, size, shape[-1]), cfg.augment, cfg.crop_padding,
      255.0 if examples.dtype == tf.uint8 else 1.0,
      () if identity else mean, () if identity else std)


def build(cfg: ml_collections.ConfigDict | Mapping[str, Any],
          source: Source | None = None) -> DataBundle:
  """Builds train / clean validation / test splits from `config.data` (see module doc),
  from the registered `data.source`, or from the `source` given (the Python API's arrays)."""
  cfg = resolve_config(cfg)
  check_config(cfg, registered_source=source is None)
  if source is None:
    source = DATASETS.get(cfg.source, "data.source")(cfg)
  if not isinstance(source, Source):
    raise TypeError(f"dataset {cfg.source!r} returned {type(source).__name__}, not a Source")
  pool, test = source.pool, source.test
  pool_y = as_int_labels(pool.y, source.label_field)
  test_y = None if test is None else as_int_labels(test.y, source.label_field)
  if len(pool_y) == 0 or len(pool.examples) != len(pool_y):
    raise ConfigError(f"data.source={cfg.source!r}: the training pool has {len(pool.examples)} "
                      f"examples and {len(pool_y)} labels; it must be non-empty and match")
  everything = pool_y if test_y is None else np.concatenate([pool_y, test_y])
  num_classes, class_names = _num_classes(cfg, source, everything)

  origin = np.arange(len(pool_y))
  if test is None:
    origin, held = protocol.stratified_split(
        pool_y, cfg.test_fraction, num_classes,
        protocol.rng_for(cfg.seed, protocol.TEST_SPLIT_STREAM))
    test, test_y, test_origin = pool.take(held), pool_y[held], held
    pool, pool_y = pool.take(origin), pool_y[origin]
  else:
    test_origin = np.arange(len(test_y))
  fitted = columns.fit(source.columns, pool.examples.array) if source.columns else ()
  if fitted:  # a csv's raw cells, encoded with what the training pool holds
    pool, test = (Arrays(columns.encode(fitted, a.examples.array), a.y, a.importance,
                         a.source_rows) for a in (pool, test))
    source = dataclasses.replace(source, pool=pool, test=test)

  perm = np.random.default_rng(cfg.seed).permutation(len(pool_y))
  if cfg.val_fraction:
    val_rows, rest = protocol.validation_fraction_split(pool_y, perm, cfg.val_fraction,
                                                        num_classes, class_names)
  else:
    val_rows, rest = protocol.validation_split(pool_y, perm, cfg.val_per_class, num_classes,
                                                 class_names)
  rest = protocol.take_train_size(rest, cfg.train_size)
  kept = protocol.long_tail(pool_y, rest, cfg.long_tail.profile,
                              float(cfg.long_tail.imbalance_ratio), num_classes)
  clean = pool_y[kept]
  noisy = protocol.add_label_noise(clean, cfg.noise.kind, float(cfg.noise.rate), num_classes,
                                     protocol.rng_for(cfg.seed, protocol.NOISE_STREAM))
  rows, subset_records = _training_subset(cfg, noisy, num_classes)

  stats = protocol.pool_statistics(pool.examples.array) if source.tabular else None
  if stats is not None and not (np.all(np.isfinite(stats[0])) and np.all(np.isfinite(stats[1]))):
    column = int(np.argmax(~(np.isfinite(stats[0]) & np.isfinite(stats[1]))))
    raise ConfigError(f"{source.label_field}: feature column {column} overflows when "
                      "standardised (values near the float limit); rescale it")
  if len(test_y) == 0:
    raise ConfigError(f"data.test_fraction={cfg.test_fraction} leaves no test examples "
                      f"(pool of {len(pool_y) + len(test_y)}); raise it or give data.test_path")
  all_test = np.arange(len(test_y))
  applied = [protocol_record.long_tail_record(
                 cfg.long_tail.profile, cfg.long_tail.imbalance_ratio, pool_y[rest], clean,
                 num_classes),
             protocol_record.noise_record(cfg.noise.kind, cfg.noise.rate, clean, noisy,
                                          num_classes), *subset_records]
  kept, clean, noisy = kept[rows], clean[rows], noisy[rows]
  bundle = DataBundle(
      train=_split(pool, kept, noisy, clean, stats),
      val=(_split(pool, val_rows, pool_y[val_rows], pool_y[val_rows], stats)
           if len(val_rows) else None),
      test=_split(test, all_test, test_y, test_y, stats),
      num_classes=num_classes, class_names=class_names, transform=_transform(cfg, source),
      info=dict(source=cfg.source, location=source.location, train_origin=origin[kept],
                val_origin=origin[val_rows], test_origin=test_origin,
                feature_mean=None if stats is None else stats[0],
                feature_std=None if stats is None else stats[1],
                feature_names=source.feature_names,
                columns=[column.to_json() for column in fitted],
                protocol=[*source.changes,
                          *(record for record in applied if record is not None)]))
  logging.info("data: %s train %d (per class %s, %d noisy), val %d, test %d", cfg.source,
               len(bundle.train), bundle.class_counts.tolist(),
               int(bundle.train.noise_mask.sum()), len(val_rows), len(test_y))
  return bundle
