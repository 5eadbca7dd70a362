"""The files the launcher's sweep of bad inputs points at (tests/bad_input_cases.py): csv,
npz, image folders and list files a new user gets wrong, and experiment files and modules
that set a kwarg of the wrong type or exit when imported."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image


def _experiment(body: str) -> str:
  return ("from framework.config import base_config\n"
          "def get_config(variant=None):\n  c = base_config()\n" +
          "".join(f"  {line.strip()}\n" for line in body.split(";")) + "  return c\n")


def write_files(tmp) -> dict[str, str]:
  """The bad data files, experiment files and modules the cases point at: {key: path}."""
  rng = np.random.default_rng(0)
  paths = {}

  def write(key: str, name: str, content) -> None:
    paths[key] = str(tmp / name)
    mode = "wb" if isinstance(content, bytes) else "w"
    with open(paths[key], mode) as f:
      f.write(content)

  rows = "".join(f"{i % 7},{i % 3},{i % 2}\n" for i in range(60))
  two = "".join(f"{i % 7},{i % 2}\n" for i in range(60))
  write("no_label", "no_label.csv", "a,b,klass\n" + rows)
  write("text", "text.csv", "a,b,label\n" + "".join(f"u{i},1,{i % 2}\n" for i in range(40)))
  write("huge", "huge.csv", "a,label\n" + "".join(f"{1e308 * (1 - i % 2)},{i % 2}\n"
                                                  for i in range(40)))
  write("label_1e9", "label.csv", "a,label\n" + "".join(f"{i},{i % 2}\n" for i in range(39))
        + "5,1000000000\n")
  write("dup", "dup.csv", "a,a,label\n" + rows)
  write("dup_label", "dup_label.csv", "a,label,label\n" + rows)
  write("blank_header", "blank_header.csv", "a,,label\n" + rows)
  write("empty_csv", "empty.csv", "")
  write("header_only", "header_only.csv", "a,b,label\n")
  write("ragged", "ragged.csv", "a,b,label\n1,2,0\n3,1\n")
  write("latin1_csv", "latin1.csv", "a,label\n".encode() + "caf\xe9,0\n".encode("latin-1"))
  write("only_label", "only_label.csv", "label\n" + "".join(f"{i % 2}\n" for i in range(40)))
  write("infinite_value", "infinite_value.csv", "a,label\n" + two + "inf,1\n")
  write("one_class", "one_class.csv", "a,label\n" + "".join(f"{i},pos\n" for i in range(40)))
  write("empty_label", "empty_label.csv", "a,label\n" + two + "3,\n")
  write("fraction_label", "fraction_label.csv", "a,label\n" + two + "3,0.5\n")
  write("mixed_labels", "mixed_labels.csv", "a,label\n" + two + "3,cat\n")
  write("two_features", "two_features.csv", "a,b,label\n" + rows)
  write("other_features", "other_features.csv", "a,c,label\n" + rows)
  write("not_npz", "not_npz.npz", "x,y\n1,2\n")
  images = rng.integers(0, 255, (40, 4, 4), dtype=np.uint8).astype(np.float32) / 255
  images[3, 1, 1] = np.nan
  arrays = {"nan": {"x": images, "y": np.arange(40) % 2},
            "empty_features": {"x": np.zeros((40, 0)), "y": np.arange(40) % 2},
            "no_keys": {"a": np.zeros(3)},
            "short_labels": {"x": np.zeros((40, 3)), "y": np.arange(39) % 2},
            "text_features": {"x": np.array([["a"] * 3] * 40), "y": np.arange(40) % 2},
            "five_d": {"x": np.zeros((40, 2, 2, 2, 2)), "y": np.arange(40) % 2},
            "pixels_255": {"x": np.full((40, 4, 4, 1), 200.0), "y": np.arange(40) % 2},
            "float_labels": {"x": np.zeros((40, 3)), "y": np.arange(40) % 2 + 0.5},
            "test_shape": {"x": np.zeros((40, 3)), "y": np.arange(40) % 2,
                           "x_test": np.zeros((10, 4)), "y_test": np.arange(10) % 2}}
  for key, content in arrays.items():
    np.savez(tmp / f"{key}.npz", **content)
    paths[key] = str(tmp / f"{key}.npz")
  write("a_file", "a_file", "not a folder")
  write("none", "none.py", "def get_config(variant=None):\n  return None\n")
  write("raises", "raises.py", "def get_config(variant=None):\n  raise RuntimeError('x')\n")
  write("no_get_config", "no_get_config.py", "X = 1\n")
  write("syntax", "syntax.py", "def get_config(:\n")
  write("exits", "exits.py", "import sys\nsys.exit(0)\n")
  write("module_raises", "module_raises.py", "raise ImportError('no module named torch')\n")
  write("per_sample_text", "per_sample_text.py", _experiment(
      "c.rule.name = 'exp_gradient'; c.rule.kwargs = {'per_sample': 'no'}"))
  write("eta_text", "eta_text.py", _experiment(
      "c.rule.name = 'exp_gradient'; c.rule.kwargs = {'eta': '0.1'}"))
  write("beta_text", "beta_text.py", _experiment("c.optimizer.kwargs = {'beta_1': '0.9'}"))
  write("clipnorm_text", "clipnorm_text.py", _experiment("c.optimizer.kwargs = {'clipnorm': '1'}"))
  write("dense_float", "dense_float.py", _experiment(
      "c.model.name = 'small_cnn'; c.model.kwargs = {'dense': 64.5}"))
  os.makedirs(tmp / "no_classes")
  for folder in ("no_images/a", "no_images/b"):
    os.makedirs(tmp / folder)
  for folder, names in (("images", ("cat", "dog", "bird")), ("two_classes", ("cat", "dog"))):
    for name in names:
      os.makedirs(tmp / folder / name)
      for i in range(3):
        Image.fromarray(rng.integers(0, 255, (6, 6, 3), dtype=np.uint8)).save(
            tmp / folder / name / f"{i}.png")
    paths[folder] = str(tmp / folder)
  paths.update(no_classes=str(tmp / "no_classes"), no_images=str(tmp / "no_images"))
  write("list", "list.txt", "a.jpg 0\nnot a line\n")
  write("list_label", "list_label.txt", "images/cat/0.png cat\n")
  write("list_empty", "list_empty.txt", "# nothing listed\n\n")
  write("list_latin1", "list_latin1.txt", "images/caf\xe9/0.png 0\n".encode("latin-1"))
  return paths
