"""The data fingerprint: what a run read, so that a relaunch or a reader can tell it changed.

    {"scheme": 1, "class_names": [...],
     "splits": {"train": {"examples": 44, "class_counts": [24, 20],
                          "digests": {"labels": sha256, "values": sha256}}, "val": ..., "test": ...}}

Each split, after the protocol, gives its size, its examples per class (observed labels)
and digests: one of its labels (observed and clean) and importance, and those its examples
give of what was read (`Examples.fingerprint`): every byte of an in-memory array; the
names, sizes and modification times of image files and the ends of a sample of them; the
rows of a random-access source and a sample of their bytes. It costs O(N) once per
launch: ~60 ms for Fashion-MNIST's 55 MB of arrays, ~0.5 s for a folder of 50,000 small
images (a stat per file; loading that folder takes ~1.4 s). A run records it when it
starts (`framework.runs.files`).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from framework.data.bundle import DataBundle, Split
from framework.data.examples import sha256

SCHEME = 1  # how the digests are made; digests of another scheme are not compared
_SPLITS = ("train", "val", "test")
_CLASSES_SHOWN = 4


def _split_fingerprint(split: Split, num_classes: int) -> dict[str, Any]:
  arrays = [split.labels, split.clean_labels]
  if split.importance is not None:
    arrays.append(split.importance)
  digests = {"labels": sha256(np.ascontiguousarray(a) for a in arrays),
             **split.examples.fingerprint()}
  return {"examples": len(split),
          "class_counts": np.bincount(split.labels, minlength=num_classes).tolist(),
          "digests": digests}


def data_fingerprint(data: DataBundle) -> dict[str, Any]:
  """The fingerprint of `data` (see the module doc), a JSON-ready dict."""
  splits = {name: _split_fingerprint(getattr(data, name), data.num_classes)
            for name in _SPLITS if getattr(data, name) is not None}
  return {"scheme": SCHEME, "class_names": list(data.class_names), "splits": splits}


def _count_change(name: str, before: Mapping, after: Mapping, class_names: list[str],
                  same_classes: bool) -> str:
  text = f"{name} {before['examples']} -> {after['examples']} examples"
  if not same_classes:
    return text
  classes = [f"class {c}: {a} -> {b}" for c, a, b in
             zip(class_names, before["class_counts"], after["class_counts"]) if a != b]
  if not classes:
    return text
  more = " ..." if len(classes) > _CLASSES_SHOWN else ""
  return f"{text} ({', '.join(classes[:_CLASSES_SHOWN])}{more})"


def fingerprint_changes(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> str:
  """What differs from the `recorded` fingerprint in the `current` one, in a few words
  ('train 44 -> 50 examples (class 1: 20 -> 26)', 'test: labels differ'); '' if nothing."""
  changes = []
  same_classes = recorded["class_names"] == current["class_names"]
  if not same_classes:
    changes.append(f"classes {recorded['class_names']} -> {current['class_names']}")
  same_scheme = recorded.get("scheme") == current["scheme"]
  for name in _SPLITS:
    before, after = recorded["splits"].get(name), current["splits"].get(name)
    if before is None or after is None:
      if before is not after:
        sizes = [0 if split is None else split["examples"] for split in (before, after)]
        changes.append(f"{name} {sizes[0]} -> {sizes[1]} examples")
    elif (before["examples"], before["class_counts"]) != (after["examples"],
                                                            after["class_counts"]):
      changes.append(_count_change(name, before, after, current["class_names"], same_classes))
    elif same_scheme:
      differ = [key for key in sorted(set(before["digests"]) | set(after["digests"]))
                if before["digests"].get(key) != after["digests"].get(key)]
      if differ:
        changes.append(f"{name}: {', '.join(differ)} differ")
  return "; ".join(changes)
