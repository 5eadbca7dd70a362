"""What the protocol changed in the user's data: a record of each long-tail cut, label-noise
injection, leave-out and cross-validation fold applied, and of image files left out at
load, kept in `DataBundle.info["protocol"]` (and a run's data.json), and the line
announcing it.

A transform is recorded only when it is switched on (a long-tail profile other than `none`,
a noise kind other than `none`, a leave-out file, folds), with the training counts per
class before and after, so a cut never passes unnoticed; files are recorded when
data.skip_bad_images left some out."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

LONG_TAIL_OFF = "--config.data.long_tail.profile=none --config.data.long_tail.imbalance_ratio=1"
NOISE_OFF = "--config.data.noise.kind=none --config.data.noise.rate=0"
LEAVE_OUT_OFF = "--config.data.leave_out.file=''"
FOLDS_OFF = "--config.data.folds.count=0"


def _counts(labels: np.ndarray, num_classes: int) -> list[int]:
  return np.bincount(labels, minlength=num_classes).astype(int).tolist()


def long_tail_record(profile: str, imbalance_ratio: float, before: np.ndarray,
                     after: np.ndarray, num_classes: int) -> dict[str, Any] | None:
  """The long-tail cut from labels `before` to labels `after`; None when the profile is off."""
  if profile == "none":
    return None
  return {"transform": "long_tail", "profile": profile,
          "imbalance_ratio": float(imbalance_ratio),
          "counts_before": _counts(before, num_classes),
          "counts_after": _counts(after, num_classes), "off": LONG_TAIL_OFF}


def noise_record(kind: str, rate: float, clean: np.ndarray, noisy: np.ndarray,
                 num_classes: int) -> dict[str, Any] | None:
  """The label noise from `clean` to `noisy` labels; None when the kind is off."""
  if kind == "none":
    return None
  return {"transform": "label_noise", "kind": kind, "rate": float(rate),
          "changed": int(np.sum(clean != noisy)), "total": int(len(clean)),
          "counts_before": _counts(clean, num_classes),
          "counts_after": _counts(noisy, num_classes), "off": NOISE_OFF}


def leave_out_record(path: str, before: np.ndarray, after: np.ndarray,
                     num_classes: int) -> dict[str, Any]:
  """The training examples that data.leave_out.file (read at `path`) removed: labels
  `before` -> `after`."""
  return {"transform": "leave_out", "file": path, "left_out": int(len(before) - len(after)),
          "total": int(len(before)), "counts_before": _counts(before, num_classes),
          "counts_after": _counts(after, num_classes), "off": LEAVE_OUT_OFF}


def folds_record(count: int, held_out: int, before: np.ndarray, after: np.ndarray,
                 num_classes: int) -> dict[str, Any]:
  """The cross-validation fold `held_out` of `count` removed from training: labels
  `before` -> `after`."""
  return {"transform": "folds", "count": int(count), "held_out": int(held_out),
          "total": int(len(before)), "counts_before": _counts(before, num_classes),
          "counts_after": _counts(after, num_classes), "off": FOLDS_OFF}


def skipped_images_record(where: str, skipped: list[str], total: int) -> dict[str, Any]:
  """Image files of `where` (e.g. "data.path='photos'") left out because they do not
  decode: each named with its reason, of `total` found."""
  return {"transform": "skip_bad_images", "where": where, "skipped": list(skipped),
          "total": int(total)}


def announcement(record: Mapping[str, Any]) -> str:
  """One line saying what a recorded change did (for a transform: how to turn it off)."""
  if record["transform"] == "skip_bad_images":
    return (f"data: {record['where']}: {len(record['skipped'])} of {record['total']} images "
            f"do not decode and are left out (data.skip_bad_images=true): "
            f"{', '.join(record['skipped'])}")
  change = f"{record['counts_before']} -> {record['counts_after']}"
  if record["transform"] == "long_tail":
    return (f"data: long-tail cut applied (data.long_tail.profile={record['profile']!r}, "
            f"imbalance_ratio={record['imbalance_ratio']:g}): training examples per class "
            f"{change}; to train on the data as it is: {record['off']}")
  if record["transform"] == "leave_out":
    return (f"data: left out {record['left_out']:,} training examples listed in "
            f"{record['file']} (data.leave_out): per class {change}; to keep them: "
            f"{record['off']}")
  if record["transform"] == "folds":
    return (f"data: cross-validation fold {record['held_out']} of {record['count']} held out "
            f"(data.folds): training on {sum(record['counts_after']):,} of "
            f"{record['total']:,} examples, per class {change}; to train on every fold: "
            f"{record['off']}")
  return (f"data: label noise applied (data.noise.kind={record['kind']!r}, "
          f"rate={record['rate']:g}): {record['changed']} of {record['total']} training "
          f"labels changed, per class {change}; to turn it off: {record['off']}")
