"""The config's scalar fields and what each may hold, checked in one pass.

`check_fields(config)` runs first in `experiment.build`, before any data is read or any
file written; names (model, loss, rule, strategy, optimizer, ...) are checked by the
registries that build them, later in the same pass. Every failure is a one-line
ConfigError naming the field, the value and what is allowed.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from framework.errors import ConfigError

Check = Callable[[str, Any], None]


def _fail(field: str, value: Any, allowed: str) -> None:
  raise ConfigError(f"{field}={value!r} must be {allowed}")


def _is_int(value: Any) -> bool:
  return isinstance(value, int) and not isinstance(value, bool)


def integer(least: int) -> Check:
  def check(field, value):
    if not (_is_int(value) and value >= least):
      _fail(field, value, f"an integer >= {least}")
  return check


def number(lo: float | None = None, hi: float | None = None, lo_open: bool = False,
           hi_open: bool = False) -> Check:
  """A finite int or float in the interval given."""
  def check(field, value):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and lo is not None:
      ok = value > lo if lo_open else value >= lo
    if ok and hi is not None:
      ok = value < hi if hi_open else value <= hi
    if not ok:
      if hi is None:
        allowed = "a finite number" if lo is None else f"a number {'>' if lo_open else '>='} {lo:g}"
      else:
        allowed = (f"in {'(' if lo_open else '['}{'-inf' if lo is None else f'{lo:g}'}, "
                   f"{hi:g}{')' if hi_open else ']'}")
      _fail(field, value, allowed)
  return check


def boolean(field: str, value: Any) -> None:
  if not isinstance(value, bool):
    _fail(field, value, "true or false")


def text(field: str, value: Any) -> None:
  if not isinstance(value, str):
    _fail(field, value, "a string")


def mapping(field: str, value: Any) -> None:
  if not (isinstance(value, Mapping) or hasattr(value, "to_dict")):
    _fail(field, value, "a mapping of keyword arguments")


def one_of(*choices: str) -> Check:
  def check(field, value):
    if value not in choices:
      _fail(field, value, f"one of {', '.join(choices)}")
  return check


def sequence_of(item: Check, allowed: str) -> Check:
  def check(field, value):
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
      _fail(field, value, f"a list of {allowed}")
    for element in value:
      try:
        item(field, element)
      except ConfigError:
        _fail(field, value, f"a list of {allowed}")
  return check


POSITIVE, NON_NEGATIVE = integer(1), integer(0)


def class_or_minority(field: str, value: Any) -> None:
  if not (_is_int(value) and value >= -1):
    _fail(field, value, "-1 (the minority class by training counts) or a class id >= 0")

FIELDS: dict[str, Check] = {
    "seed": NON_NEGATIVE, "deterministic": boolean, "precision": text, "variant": text,
    "extra_modules": sequence_of(text, "module names or .py paths"),
    "model.name": text, "model.kwargs": mapping, "model.init_from": text,
    "model.retrain": one_of("all", "head"),
    "loss.name": text, "loss.kwargs": mapping,
    "rule.name": text, "rule.kwargs": mapping,
    "class_weights.scheme": text, "class_weights.kwargs": mapping,
    "class_weights.start_epoch": NON_NEGATIVE,
    "class_weights.normalize": one_of("batch", "weights"),
    "optimizer.name": text, "optimizer.learning_rate": number(0.0, lo_open=True),
    "optimizer.schedule": text, "optimizer.kwargs": mapping,
    "optimizer.decay_epochs": sequence_of(number(0.0), "epochs >= 0"),
    "optimizer.decay_factors": sequence_of(number(0.0, lo_open=True), "multipliers > 0"),
    "optimizer.warmup_epochs": NON_NEGATIVE, "optimizer.weight_decay": number(0.0),
    "optimizer.weight_decay_mode": one_of("l2", "l2_all", "decoupled"),
    "train.batch_size": POSITIVE, "train.val_batch_size": POSITIVE, "train.epochs": POSITIVE,
    "train.steps_per_loop": NON_NEGATIVE, "train.eval_every_epochs": POSITIVE,
    "train.checkpoint_every_loops": POSITIVE, "train.max_checkpoints": POSITIVE,
    "train.jit_compile": one_of("auto", "on", "off"),
    "train.on_nonfinite": one_of("stop", "skip", "off"), "train.max_skipped": POSITIVE,
    "eval.batch_size": POSITIVE, "eval.posthoc_tau": number(0.0), "eval.select_best": text,
    "eval.tau_norm": text, "eval.positive_class": class_or_minority,
    "logging.summary_every_loops": NON_NEGATIVE, "logging.tracked_per_class": NON_NEGATIVE,
    "logging.tracked_noisy": NON_NEGATIVE,
    "logging.tracked_indices": sequence_of(NON_NEGATIVE, "sample indices >= 0"),
    "logging.heatmap_max_columns": POSITIVE, "logging.max_class_runs": NON_NEGATIVE,
    "logging.snapshot_every_epochs": NON_NEGATIVE,
    "strategy.name": text, "strategy.cpu_devices": NON_NEGATIVE, "strategy.tpu": text,
}

DATA_FIELDS: dict[str, Check] = {
    "source": text, "data_dir": text, "path": text, "test_path": text,
    "label_column": text, "importance_column": text,
    "class_names": sequence_of(text, "label texts"), "remap_labels": boolean,
    "seed": NON_NEGATIVE, "val_per_class": NON_NEGATIVE, "train_size": NON_NEGATIVE,
    "num_classes": NON_NEGATIVE, "num_samples": NON_NEGATIVE, "num_features": NON_NEGATIVE,
    "synthetic_classes": NON_NEGATIVE,
    "test_fraction": number(0.0, 1.0, lo_open=True, hi_open=True),
    "long_tail.profile": text, "long_tail.imbalance_ratio": number(1.0),
    "noise.kind": text, "noise.rate": number(0.0, 1.0, hi_open=True),
    "image_root": text, "name": text, "image_size": NON_NEGATIVE, "augment": text,
    "crop_padding": NON_NEGATIVE, "mean": sequence_of(number(), "numbers"),
    "std": sequence_of(number(), "numbers"),
    "sampler": one_of("instance", "class_balanced", "sqrt", "progressive"),
}


def value_at(config: Any, dotted: str) -> Any:
  node = config
  for key in dotted.split("."):
    node = node[key]
  return node


def check_fields(config: Any, fields: Mapping[str, Check] = FIELDS, prefix: str = "") -> None:
  """Checks every field of `fields` present in `config` (dotted paths)."""
  for dotted, check in fields.items():
    try:
      value = value_at(config, dotted)
    except (KeyError, AttributeError):
      continue
    check(prefix + dotted, value)
