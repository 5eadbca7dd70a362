"""Image files: `image_folder` and `image_list` on small PNG / JPEG files written with Pillow.

The paths and labels a source builds are checked against the layout the test wrote, the
pixels against Pillow's decoding of the same files, every bad input is a one-line error,
and a tiny run trains end to end through the launcher on a folder and on a list file.
"""

from __future__ import annotations

import json
import os

import numpy as np
from PIL import Image
import pytest

from framework.data import build, default_data_config
from framework.errors import ConfigError
from framework.data.stream import eval_batches
from tests.test_launch import _stderr_lines, launch_here

pytestmark = pytest.mark.usefixtures("image_cache")  # verdicts cached in the test's folder


def write_image(path, pixels, kind=None):
  """Writes uint8 `pixels` [h, w, 3] (or [h, w] grey) as PNG or JPEG (by extension)."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  kind = kind or ("JPEG" if str(path).lower().endswith((".jpg", ".jpeg")) else "PNG")
  Image.fromarray(pixels).save(path, kind, **({"quality": 90} if kind == "JPEG" else {}))


def write_image_folder(root, classes, per_class, size=(12, 14), seed=0):
  """A folder of class folders, alternating PNG and JPEG; {path: class name}."""
  rng = np.random.default_rng(seed)
  written = {}
  for name in classes:
    for i in range(per_class):
      ext = ".png" if i % 2 == 0 else ".jpg"
      path = os.path.join(root, name, f"img_{i:03d}{ext}")
      write_image(path, rng.integers(0, 256, (*size, 3), dtype=np.uint8))
      written[path] = name
  return written


def make_cfg(**fields):
  cfg = default_data_config()
  cfg.update(fields)
  return cfg


def _pillow_rgb(path):
  return np.asarray(Image.open(path).convert("RGB"))


def _decoded(split, transform):
  """The split's images as the pipeline evaluates them, back in [0, 255]."""
  return np.concatenate(list(eval_batches(split, 4, transform).as_numpy_iterator())) * 255.0


def test_image_folder_sorted_classes_recursive_files_and_test_folder(tmp_path):
  train, test = tmp_path / "train", tmp_path / "test"
  expected = write_image_folder(train, ["zebra", "ant", "Mole"], 3)
  rng = np.random.default_rng(1)
  for path in (train / "ant" / "deeper" / "more" / "x.PNG", train / "zebra" / "sub" / "y.jpeg"):
    write_image(path, rng.integers(0, 256, (12, 14, 3), dtype=np.uint8))
    expected[str(path)] = path.relative_to(train).parts[0]
  (train / "ant" / "notes.txt").write_text("not an image, not listed")
  grey = rng.integers(0, 256, (12, 14), dtype=np.uint8)  # a greyscale PNG becomes RGB
  write_image(train / "Mole" / "grey.png", grey)
  expected[str(train / "Mole" / "grey.png")] = "Mole"
  test_expected = write_image_folder(test, ["zebra", "Mole"], 2, seed=2)  # a subset is fine

  bundle = build(make_cfg(source="image_folder", path=str(train), test_path=str(test),
                          image_size=12))
  assert bundle.class_names == ("Mole", "ant", "zebra")  # sorted, as Keras sorts them
  names = bundle.class_names
  got = {p: names[y] for p, y in zip(bundle.train.examples.paths, bundle.train.labels)}
  assert got == expected
  got_test = {p: names[y] for p, y in zip(bundle.test.examples.paths, bundle.test.labels)}
  assert got_test == test_expected
  assert bundle.input_shape == (12, 12, 3)

  native = build(make_cfg(source="image_folder", path=str(train), test_path=str(test)))
  assert native.input_shape == (224, 224, 3)  # image_size 0: files default to 224


def test_pixels_match_pillow_at_the_native_size(tmp_path):
  """Files at their own size reach the model exactly as Pillow decodes them, / 255 (JPEG
  with libjpeg's accurate IDCT and 4:2:0 / 4:4:4 chroma, PNG RGB / RGBA / grey, GIF, BMP)."""
  rng = np.random.default_rng(3)
  smooth = np.clip(np.indices((16, 16)).sum(0)[..., None] * 7 + [0, 40, 90], 0, 255)
  for name, pixels in (("a", rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)),
                       ("b", smooth.astype(np.uint8))):
    write_image(tmp_path / "d" / name / "p.png", pixels)
    write_image(tmp_path / "d" / name / "j.jpg", pixels)
    Image.fromarray(pixels).save(tmp_path / "d" / name / "k.jpeg", quality=75, subsampling=0)
  rgba = rng.integers(0, 256, (16, 16, 4), dtype=np.uint8)  # alpha dropped
  Image.fromarray(rgba, "RGBA").save(tmp_path / "d" / "a" / "rgba.png")
  grey = rng.integers(0, 256, (16, 16), dtype=np.uint8)  # palette GIF and BMP
  Image.fromarray(grey, "L").convert("P").save(tmp_path / "d" / "b" / "g.gif")
  Image.fromarray(grey).convert("RGB").save(tmp_path / "d" / "b" / "m.bmp")
  bundle = build(make_cfg(source="image_folder", path=str(tmp_path / "d"),
                          test_path=str(tmp_path / "d"), image_size=16))
  decoded = _decoded(bundle.test, bundle.transform)
  assert len(decoded) == 9
  for path, image in zip(bundle.test.examples.paths, decoded):
    np.testing.assert_allclose(image, _pillow_rgb(path), atol=1e-3, err_msg=path)


def test_image_list_paths_labels_comments_and_image_root(tmp_path):
  rng = np.random.default_rng(4)
  files = {"imgs/a b/one.png": 3, "imgs/two.jpg": 0, "three.png": 5, "imgs/four.png": 3}
  for rel in files:
    write_image(tmp_path / "lists" / rel, rng.integers(0, 256, (10, 10, 3), dtype=np.uint8))
  lines = ["# relative/path label", ""] + [f"{rel} {label}" for rel, label in files.items()]
  (tmp_path / "lists" / "train.txt").write_text("\n".join(lines) + "\n\n   \n")
  # The test list lives elsewhere and names files under data.image_root.
  root = tmp_path / "lists"
  (tmp_path / "test.txt").write_text("imgs/two.jpg 1\n  # indented comment\nthree.png  0\n")

  bundle = build(make_cfg(source="image_list", path=str(root / "train.txt"),
                          test_path=str(tmp_path / "test.txt"), image_root=str(root),
                          image_size=8, num_classes=6))
  got = dict(zip(bundle.train.examples.paths, bundle.train.labels.tolist()))
  assert got == {str(root / rel): label for rel, label in files.items()}
  got_test = dict(zip(bundle.test.examples.paths, bundle.test.labels.tolist()))
  assert got_test == {str(root / "imgs/two.jpg"): 1, str(root / "three.png"): 0}
  assert bundle.num_classes == 6 and bundle.class_names == tuple("012345")

  alone = build(make_cfg(source="image_list", path=str(root / "train.txt"), num_classes=6))
  paths = set(alone.train.examples.paths) | set(alone.test.examples.paths)
  assert paths == {str(root / rel) for rel in files}  # default root: the list's folder


def _folder_without_classes(p):
  write_image(p / "flat" / "x.png", np.zeros((4, 4, 3), np.uint8))
  return dict(source="image_folder", path=str(p / "flat"))


def _test_class_unknown(p):
  write_image_folder(p / "train", ["cat", "dog"], 1)
  write_image_folder(p / "test", ["cat", "cow"], 1)
  return dict(source="image_folder", path=str(p / "train"), test_path=str(p / "test"))


def _list(p, text, **fields):
  write_image(p / "ok.png", np.zeros((4, 4, 3), np.uint8))
  (p / "list.txt").write_text(text)
  return dict(source="image_list", path=str(p / "list.txt"), **fields)


def _fake_jpeg_in_folder(p):
  write_image_folder(p / "d", ["cat", "dog"], 2)
  (p / "d" / "dog" / "fake.jpg").write_text("<html>not an image</html>")
  return dict(source="image_folder", path=str(p / "d"))


# (id, function tmp_path -> data fields, substrings of the one-line message)
CASES = [
    ("unknown_source", lambda p: dict(source="image_folders"),
     ["data.source='image_folders' is not a known dataset", "image_folder", "image_list"]),
    ("not_a_folder", lambda p: dict(source="image_folder", path=str(p / "nope")),
     ["data.path=", "is not a folder"]),
    ("folder_without_class_folders", _folder_without_classes,
     ["data.path=", "has no class sub-folders"]),
    ("test_class_not_in_training", _test_class_unknown,
     ["data.test_path=", "class folders cow", "training folder has not", "cat, dog"]),
    ("list_line_without_label", lambda p: _list(p, "ok.png 0\n\nok.png\n"),
     ["data.path=", "line 3 does not parse", "'ok.png'", "relative/path label"]),
    ("list_label_not_a_number", lambda p: _list(p, "# c\nok.png cat\n"),
     ["line 2 does not parse", "'ok.png cat'"]),
    ("list_missing_image", lambda p: _list(p, "ok.png 0\nok.png 1\nmissing/x.png 1\n"),
     ["data.path=", "line 3: image 'missing/x.png' not found under data.image_root="]),
    ("list_missing_image_under_root",
     lambda p: _list(p, "ok.png 0\n", image_root=str(p / "elsewhere")),
     ["line 1: image 'ok.png' not found", "elsewhere"]),
    ("list_not_an_image", lambda p: (p.joinpath("bad.jpg").write_bytes(b"GIF? no\x00"),
                                     _list(p, "ok.png 0\nbad.jpg 1\n"))[1],
     ["1 of 2 images do not decode: line 2: bad.jpg (not an image: unknown format)"]),
    ("folder_not_an_image", _fake_jpeg_in_folder,
     ["data.path=", "1 of 5 images do not decode: dog/fake.jpg (not an image: text)"]),
    ("list_file_missing", lambda p: dict(source="image_list", path=str(p / "none.txt")),
     ["data.path=", "none.txt", "is not a readable list file"]),
    ("list_empty", lambda p: _list(p, "# nothing\n\n"), ["lists no images"]),
    ("negative_label", lambda p: _list(p, "ok.png 0\nok.png -1\n"),
     ["label -1 found", ">= 0"]),
    ("image_size_negative", lambda p: _list(p, "ok.png 0\nok.png 1\n", image_size=-1),
     ["data.image_size=-1", ">= 0"]),
    ("unknown_augment", lambda p: _list(p, "ok.png 0\nok.png 1\n", augment="cutout"),
     ["data.augment='cutout' is not a known augmentation",
      "known: crop_flip, none, reflect_crop_flip, resized_crop_flip"]),
]


@pytest.mark.parametrize("fields, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_image_input_is_a_one_line_config_error(tmp_path, fields, expected):
  cfg = make_cfg(**fields(tmp_path))
  with pytest.raises(ConfigError) as info:
    build(cfg)
  message = str(info.value)
  assert "\n" not in message
  for part in expected:
    assert part in message, message


def test_bad_folder_through_the_launcher_is_one_line_and_creates_no_workdir(tmp_path):
  write_image(tmp_path / "flat" / "x.png", np.zeros((4, 4, 3), np.uint8))
  result = launch_here("--config.data.source=image_folder",
                       f"--config.data.path={tmp_path / 'flat'}", workdir=tmp_path / "run")
  lines = _stderr_lines(result)
  assert result.returncode != 0 and len(lines) == 1, result.stderr
  assert lines[0].startswith("error: data.path=") and "no class sub-folders" in lines[0]
  assert not (tmp_path / "run").exists()


TINY = ["--config.model.name=small_cnn", "--config.model.kwargs={'filters': (4,), 'dense': 8}",
        "--config.data.image_size=16", "--config.data.augment=crop_flip",
        "--config.data.long_tail.profile=none", "--config.data.long_tail.imbalance_ratio=1",
        "--config.train.batch_size=8", "--config.train.epochs=2",
        "--config.train.eval_every_epochs=1"]


@pytest.mark.parametrize("kind", ["image_folder", "image_list"])
@pytest.mark.slow
def test_trains_end_to_end_through_the_launcher(tmp_path, kind):
  files = write_image_folder(tmp_path / "train", ["cat", "dog", "eel"], 8, size=(20, 24))
  tests = write_image_folder(tmp_path / "test", ["cat", "dog", "eel"], 2, size=(18, 18), seed=5)
  if kind == "image_folder":
    paths = [f"--config.data.path={tmp_path / 'train'}",
             f"--config.data.test_path={tmp_path / 'test'}"]
  else:
    names = ("cat", "dog", "eel")
    for name, written in (("train.txt", files), ("test.txt", tests)):
      (tmp_path / name).write_text("".join(
          f"{os.path.relpath(p, tmp_path)} {names.index(c)}\n" for p, c in written.items()))
    paths = [f"--config.data.path={tmp_path / 'train.txt'}",
             f"--config.data.test_path={tmp_path / 'test.txt'}"]
  result = launch_here(f"--config.data.source={kind}", *paths, *TINY, workdir=tmp_path / "run")
  assert result.returncode == 0, result.stderr[-2000:]
  results = json.loads((tmp_path / "run" / "results.json").read_text())
  assert results["step"] == 2 * (24 // 8) and results["class_counts"] == [8, 8, 8]
  assert results["final"]["support"] == [2, 2, 2]  # the whole test folder / list, evaluated
  assert len(results["class_names"]) == 3 and 0 <= results["final"]["accuracy"] <= 1
