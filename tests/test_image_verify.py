"""Image files that do not decode are found at load: one error naming each, or left out.

A folder of 200 good 8x8 images plus a truncated JPEG, a truncated PNG and a text file
named `.png`; the same files through a list file. The launcher stops before it creates the
workdir; data.skip_bad_images trains without them and names them; a relaunch decodes
nothing again unless a file changed.
"""

from __future__ import annotations

import io
import json
import os
import shutil

import numpy as np
from PIL import Image
import pytest

from framework.data import build, image_check
from framework.errors import ConfigError
from tests.test_data_images import TINY, make_cfg, write_image_folder
from tests.test_launch import _stderr_lines, launch

CLASSES = ("cat", "dog")
BAD = {"cat/broken.jpg": "truncated JPEG", "dog/broken.png": "truncated PNG",
       "dog/notes.png": "not an image: text"}
pytestmark = pytest.mark.usefixtures("image_cache")


def _encoded(kind: str, seed: int) -> bytes:
  pixels = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
  buffer = io.BytesIO()
  Image.fromarray(pixels).save(buffer, kind)
  return buffer.getvalue()


def write_bad_folder(root) -> list[str]:
  """200 good images in two class folders plus BAD; every file relative to `root`."""
  good = write_image_folder(root, CLASSES, 100, size=(8, 8))
  jpeg, png = _encoded("JPEG", 1), _encoded("PNG", 2)
  (root / "cat" / "broken.jpg").write_bytes(jpeg[:len(jpeg) // 2])
  (root / "dog" / "broken.png").write_bytes(png[:len(png) // 2])
  (root / "dog" / "notes.png").write_text("shopping list: milk, eggs\n")
  return sorted([os.path.relpath(p, root) for p in good] + list(BAD))


def _message(cfg) -> str:
  with pytest.raises(ConfigError) as info:
    build(cfg)
  message = str(info.value)
  assert "\n" not in message
  return message


def test_folder_error_names_every_bad_file(tmp_path):
  write_bad_folder(tmp_path / "photos")
  message = _message(make_cfg(source="image_folder", path=str(tmp_path / "photos")))
  assert message.startswith(f"data.path={str(tmp_path / 'photos')!r}: 3 of 203 images do not "
                            "decode: "), message
  for name, reason in BAD.items():
    assert f"{name} ({reason})" in message, message
  assert message.endswith("fix or remove them, or set data.skip_bad_images=true to leave them "
                          "out")


def test_list_files_error_names_every_bad_file_with_its_line(tmp_path):
  files = write_bad_folder(tmp_path / "photos")
  lines = [f"photos/{f} {CLASSES.index(f.split('/')[0])}" for f in files]
  (tmp_path / "train.txt").write_text("# path label\n" + "\n".join(lines) + "\n")
  (tmp_path / "test.txt").write_text("photos/cat/img_000.png 0\nphotos/dog/notes.png 1\n")
  message = _message(make_cfg(source="image_list", path=str(tmp_path / "train.txt"),
                              test_path=str(tmp_path / "test.txt")))
  assert "train.txt': 3 of 203 images do not decode" in message, message
  for name, reason in BAD.items():  # line 1 is the comment
    assert f"line {files.index(name) + 2}: photos/{name} ({reason})" in message, message
  assert ("test.txt': 1 of 2 images do not decode: line 2: photos/dog/notes.png (not an "
          "image: text)") in message, message


@pytest.mark.slow
def test_the_launcher_stops_before_it_creates_the_workdir(tmp_path):
  write_bad_folder(tmp_path / "photos")
  result = launch("--config.data.source=image_folder",
                  f"--config.data.path={tmp_path / 'photos'}", workdir=tmp_path / "run")
  lines = _stderr_lines(result)
  assert result.returncode != 0 and len(lines) == 1, result.stderr
  assert lines[0].startswith("error: data.path=") and "3 of 203" in lines[0]
  for name, reason in BAD.items():
    assert f"{name} ({reason})" in lines[0]
  assert not (tmp_path / "run").exists()


def _relative(paths, root) -> list[str]:
  return [os.path.relpath(p, root) for p in paths]


def test_skipped_files_are_left_out_before_rows_get_their_indices(tmp_path):
  """Skipping gives the rows, in the same order, that a folder without the bad files gives."""
  write_bad_folder(tmp_path / "photos")
  shutil.copytree(tmp_path / "photos", tmp_path / "clean")
  for name in BAD:
    os.remove(tmp_path / "clean" / name)
  fields = dict(source="image_folder", val_per_class=5, image_size=8)
  skipped = build(make_cfg(path=str(tmp_path / "photos"), skip_bad_images=True, **fields))
  clean = build(make_cfg(path=str(tmp_path / "clean"), **fields))
  for split in ("train", "val", "test"):
    got, expected = getattr(skipped, split), getattr(clean, split)
    assert (_relative(got.examples.paths, tmp_path / "photos") ==
            _relative(expected.examples.paths, tmp_path / "clean"))
    np.testing.assert_array_equal(got.labels, expected.labels)
  np.testing.assert_array_equal(skipped.info["train_origin"], clean.info["train_origin"])
  assert len(skipped.train) + len(skipped.val) + len(skipped.test) == 200
  record, = skipped.info["protocol"]
  assert record["skipped"] == [f"{name} ({reason})" for name, reason in BAD.items()]
  assert record["total"] == 203 and clean.info["protocol"] == []


def test_skip_when_nothing_decodes_is_still_an_error(tmp_path):
  (tmp_path / "d" / "cat").mkdir(parents=True)
  (tmp_path / "d" / "cat" / "a.jpg").write_text("no")
  message = _message(make_cfg(source="image_folder", path=str(tmp_path / "d"),
                              skip_bad_images=True))
  assert "1 of 1 images do not decode: cat/a.jpg (not an image: text); fix or remove them" in \
      message and "skip_bad_images" not in message


@pytest.mark.slow
def test_skip_trains_through_the_launcher_and_names_them(tmp_path):
  write_bad_folder(tmp_path / "photos")
  result = launch("--config.data.source=image_folder", f"--config.data.path={tmp_path / 'photos'}",
                  "--config.data.skip_bad_images=true", *TINY, workdir=tmp_path / "run")
  assert result.returncode == 0, result.stderr[-2000:]
  announced = [l for l in result.stdout.splitlines() if "do not decode" in l]
  assert len(announced) == 1 and "3 of 203 images do not decode and are left out" in announced[0]
  for name, reason in BAD.items():
    assert f"{name} ({reason})" in announced[0]
  data = json.loads((tmp_path / "run" / "data.json").read_text())
  assert data["protocol"][0]["skipped"] == [f"{n} ({r})" for n, r in BAD.items()]
  results = json.loads((tmp_path / "run" / "results.json").read_text())
  assert sum(results["class_counts"]) + sum(results["final"]["support"]) == 200


def test_a_relaunch_decodes_only_files_changed_since(tmp_path, monkeypatch, image_cache):
  files = write_bad_folder(tmp_path / "photos")
  decoded = []
  original = image_check._decodes  # pylint: disable=protected-access
  monkeypatch.setattr(image_check, "_decodes",
                      lambda paths, channels: (decoded.append(list(paths)),
                                               original(paths, channels))[1])
  cfg = make_cfg(source="image_folder", path=str(tmp_path / "photos"))
  listing = sorted(os.listdir(tmp_path / "photos"))
  first = _message(cfg)
  assert sorted(_relative(decoded[0], tmp_path / "photos")) == files
  assert len(os.listdir(image_cache)) == 1
  assert sorted(os.listdir(tmp_path / "photos")) == listing  # nothing in the data folder

  decoded.clear()
  assert _message(cfg) == first  # the reasons come from the cache too
  assert sum(map(len, decoded)) == 0

  changed = tmp_path / "photos" / "cat" / "img_004.png"
  touched = tmp_path / "photos" / "dog" / "img_007.jpg"
  changed.write_bytes(changed.read_bytes()[:30])
  os.utime(touched, ns=(0, 10**18))  # same bytes, another mtime
  decoded.clear()
  message = _message(cfg)
  assert sorted(sum(decoded, [])) == sorted([str(changed), str(touched)])
  assert "4 of 203 images do not decode" in message and "cat/img_004.png (truncated PNG)" in message


@pytest.mark.parametrize("name, data, reason", [
    ("empty.jpg", b"", "empty file"),
    ("zeros.png", bytes(64), "not an image: unknown format"),
    ("middle.jpg", lambda: (lambda j: j[:20] + bytes(len(j) - 22) + j[-2:])(_encoded("JPEG", 3)),
     "corrupt JPEG"),
    ("half.gif", lambda: _encoded("GIF", 4)[:40], "truncated GIF"),
    ("half.bmp", lambda: _encoded("BMP", 5)[:100], "truncated BMP"),
    ("half.webp", lambda: _encoded("WEBP", 6)[:30], "truncated WebP"),
])
def test_each_reason_is_read_from_the_bytes(tmp_path, name, data, reason):
  (tmp_path / "good.webp").write_bytes(_encoded("WEBP", 7))  # WebP decodes like the others
  (tmp_path / name).write_bytes(data() if callable(data) else data)
  (tmp_path / "list.txt").write_text(f"good.webp 0\n{name} 1\n")
  message = _message(make_cfg(source="image_list", path=str(tmp_path / "list.txt")))
  assert f"1 of 2 images do not decode: line 2: {name} ({reason});" in message, message
