"""Predictions of a finished run on new data: `python -m framework.tools.predict WORKDIR --data=PATH`.

PATH is an .npz (features under `x`, `features` or `x_test`), a .csv (the run's feature
columns, by name, as the training file holds them: blanks, categories; other columns are
ignored), a folder of images (class sub-folders or
not) or a list file of `relative/path [label]` lines. Images are decoded and brought to
the model's input size with the run's deterministic evaluation transform; the exported
model (`WORKDIR/model.keras`) applies the run's normalisation. Writes a csv with one row
per input: the item (row number or image path), the predicted class name, its probability,
and the probability of every class (`p_<class>`). Bad input is one line and exit status 2.
"""

from __future__ import annotations

import csv
import os
import sys
from typing import Any
import zipfile

import numpy as np

from framework.errors import ConfigError, nonfinite_rows, one_line
from framework.tools.arguments import ToolParser
from framework.runs.reader import FinishedRun

_IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def _transform(description: dict):
  from framework.data.augment import InputTransform  # pylint: disable=g-import-not-at-top
  fields = dict(description["transform"])
  return InputTransform(**{**fields, "output_shape": tuple(fields["output_shape"]),
                           "mean": tuple(fields["mean"]), "std": tuple(fields["std"])})


def _images(path: str) -> list[str]:
  """The image files of a folder (recursively, sorted) or of a list file."""
  if os.path.isdir(path):
    found = [os.path.join(root, f) for root, _, files in os.walk(path) for f in files
             if f.lower().endswith(_IMAGE_EXTENSIONS)]
    return sorted(found)
  root = os.path.dirname(os.path.abspath(path))
  with open(path, encoding="utf-8") as f:
    lines = [line.split()[0] for line in f if line.strip() and not line.startswith("#")]
  return [os.path.join(root, line) for line in lines]


def _npz_features(path: str) -> np.ndarray:
  """The features of an .npz: its array `x`, `features` or `x_test`."""
  try:
    with np.load(path, allow_pickle=False) as arrays:
      key = next((k for k in ("x", "features", "x_test") if k in arrays.files), None)
      x = None if key is None else arrays[key]
  except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
    raise ConfigError(f"--data={path!r} is not a readable .npz (damaged, truncated or another "
                      f"format: {one_line(e, 80)})") from None
  if x is None:
    raise ConfigError(f"--data={path!r} has no x / features / x_test array")
  return x


def load_inputs(path: str, description: dict) -> tuple[list[str], Any]:
  """(item names, raw model inputs: float32 [n, ...], or a csv's columns by name) of the
  data at `path`."""
  if not os.path.exists(path):
    raise ConfigError(f"--data={path!r} does not exist")
  if path.endswith(".npz"):
    x = _npz_features(path)
    x = x[..., None] if x.ndim == 3 else x
    return [str(i) for i in range(len(x))], x  # checked, then made float32, by predict
  if path.endswith(".csv"):
    from framework.data.tabular import read_csv  # pylint: disable=g-import-not-at-top
    header, cells, _ = read_csv(path, "--data")
    names = description["feature_names"]
    if not names:
      raise ConfigError(f"--data={path!r} is a csv; the run was not trained on a csv and has "
                        "no feature columns to read; allowed: an .npz of its inputs")
    missing = [n for n in names if n not in header]
    if missing:
      raise ConfigError(f"--data={path!r} lacks the run's feature columns {missing[:5]}")
    cells = cells[:, [header.index(n) for n in names]]
    items = [str(i) for i in range(len(cells))]
    from framework.data.columns import Column, model_inputs  # pylint: disable=g-import-not-at-top
    columns = ([Column.from_json(c) for c in description.get("columns", ())]
               or [Column(name, categorical=False) for name in names])  # an older run's
    try:
      return items, model_inputs(columns, cells)
    except ValueError as e:  # text in a column the run read as numbers
      raise ConfigError(f"--data={path!r}: {one_line(e, 120)}; allowed: numbers (or blanks) in "
                        "the run's numeric columns") from None
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from framework.data.examples import decode_image  # pylint: disable=g-import-not-at-top
  if len(description["input_shape"]) != 3:
    raise ConfigError(f"--data={path!r} is neither an .npz nor a .csv; the run takes "
                      f"{_described(description)}; allowed: an .npz or a .csv (images are "
                      "for runs on images)")
  files = _images(path)
  if not files:
    raise ConfigError(f"--data={path!r} holds no images")
  transform = _transform(description)
  channels = description["input_shape"][-1]
  def image(path: str) -> np.ndarray:
    try:
      return transform.eval_geometry(decode_image(tf.constant(path), channels)[None])[0].numpy()
    except tf.errors.OpError as e:
      raise ConfigError(f"--data: cannot read the image {path!r} ({one_line(e)})") from None
  return files, np.stack([image(f) for f in files]).astype(np.float32)


def output_name(path: str) -> str:
  """The predictions file for the data at `path`: new.csv -> predictions-new.csv, a folder
  `images/` -> predictions-images.csv."""
  name = os.path.basename(path.rstrip("/" + os.sep))
  stem = name if os.path.isdir(path) else os.path.splitext(name)[0]
  return f"predictions-{stem}.csv"


def _described(description: dict) -> str:
  from framework.models.inputs import describe  # pylint: disable=g-import-not-at-top
  return describe(description["input_shape"])


def _check_rows(x: Any, path: str, description: dict) -> None:
  """A ConfigError for data without rows, of another shape than the run's inputs, or with
  rows that are not finite (a model maps them to NaN probabilities, or to nonsense). A
  csv's blank cells are NaN on purpose: the exported model imputes them."""
  rows = len(next(iter(x.values()))) if isinstance(x, dict) else (0 if x.ndim == 0 else len(x))
  if not rows:
    raise ConfigError(f"--data={path!r} holds no rows; allowed: at least one example")
  if isinstance(x, dict) or path.endswith(".csv"):
    return
  if x.dtype.kind not in "iufb":
    raise ConfigError(f"--data={path!r} holds {x.dtype} values; allowed: numbers")
  if list(x.shape[1:]) != list(description["input_shape"]):
    raise ConfigError(f"--data={path!r} holds examples of shape {list(x.shape[1:])}; the run "
                      f"takes {_described(description)}; allowed: examples of that shape")
  bad = nonfinite_rows(x)
  if bad:
    raise ConfigError(f"--data={path!r}: {bad} hold NaN or infinity; allowed: finite values")


def predict(run: FinishedRun, path: str, output: str | None = None) -> str:
  """Writes the predictions csv of the data at `path`; returns its path."""
  description = run.data_info
  items, x = load_inputs(path, description)
  _check_rows(x, path, description)
  if isinstance(x, np.ndarray):
    x = x.astype(np.float32)
  serving = run.model()
  import keras  # pylint: disable=g-import-not-at-top
  if isinstance(x, dict):  # a csv's columns: Keras takes str cells as tf.string tensors
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    x = {name: tf.constant(cells) for name, cells in x.items()}
  logits = serving.predict(x, batch_size=256, verbose=0)
  probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits))
  names = description["class_names"]
  output = output or run.rundir.file(output_name(path))
  with open(output, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["item", "predicted", "probability"] + [f"p_{n}" for n in names])
    for item, p in zip(items, probabilities):
      best = int(np.argmax(p))
      writer.writerow([item, names[best], f"{p[best]:.6f}"] + [f"{v:.6f}" for v in p])
  return output


def main(argv: list[str] | None = None) -> int:
  parser = ToolParser(prog="python -m framework.tools.predict",
                      description=__doc__.splitlines()[0])
  parser.add_argument("workdir", help="the workdir of a finished run")
  parser.add_argument("--data", required=True, help="npz, csv, image folder or list file")
  parser.add_argument("--output", default=None, help="csv to write (default: in WORKDIR)")
  args = parser.parse_args(argv)
  try:
    print(f"Predictions in {predict(FinishedRun(args.workdir), args.data, args.output)}")
  except (ConfigError, OSError, ValueError) as e:
    print(f"predict: {one_line(e)}", file=sys.stderr)
    return 2
  return 0


if __name__ == "__main__":
  sys.exit(main())
