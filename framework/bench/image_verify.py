"""What verifying every image file at load costs: the first launch and a cached relaunch.

  python -m framework.bench.image_verify [--count 50000] [--side 32]

Writes `count` small images (side x side, half PNG, half JPEG, 10 class folders) to a
temporary folder, then times `image_check.bad_images` on them twice, as a launch and a
relaunch would: the first call decodes every file with the pipeline's decoder, the second
finds each file's (path, size, mtime) in the cache and decodes nothing. Reports wall time
and process CPU time (every thread). The files were just written, so they are read from
the page cache: a first launch on a cold disk also pays the reads. The cache goes to the
temporary folder (XDG_CACHE_HOME), not the user's.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time

import numpy as np
from PIL import Image

from framework.data import image_check

CLASSES, DISTINCT = 10, 64


def write_images(folder: str, count: int, side: int, seed: int = 0) -> list[str]:
  """`count` images in CLASSES class folders, alternating PNG and JPEG, from DISTINCT
  encodings of each (the decoder does the same work whatever the pixels)."""
  rng = np.random.default_rng(seed)
  encoded = {"png": [], "jpg": []}
  for _ in range(DISTINCT):
    image = Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8))
    for ext, kind in (("png", "PNG"), ("jpg", "JPEG")):
      buffer = io.BytesIO()
      image.save(buffer, kind)
      encoded[ext].append(buffer.getvalue())
  paths = []
  for i in range(count):
    ext = ("png", "jpg")[i % 2]
    path = os.path.join(folder, f"class_{i % CLASSES}", f"{i:07d}.{ext}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
      f.write(encoded[ext][i // 2 % DISTINCT])
    paths.append(path)
  return paths


def timed(call) -> tuple[float, float]:
  """(wall seconds, process CPU seconds) of `call()`."""
  wall, cpu = time.perf_counter(), time.process_time()
  call()
  return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--count", type=int, default=50_000)
  parser.add_argument("--side", type=int, default=32)
  args = parser.parse_args()
  base = tempfile.mkdtemp(prefix="image_verify_")
  os.environ["XDG_CACHE_HOME"] = os.path.join(base, "cache")
  try:
    folder = os.path.join(base, "images")
    start = time.perf_counter()
    paths = write_images(folder, args.count, args.side)
    print(f"wrote {args.count:,} images of {args.side}x{args.side} (PNG / JPEG) in "
          f"{time.perf_counter() - start:.1f} s")
    for name in ("first (decodes every file)", "cached (decodes none)"):
      bad: dict = {}
      wall, cpu = timed(lambda: bad.update(image_check.bad_images(paths, folder, 3)))
      assert not bad, bad
      print(f"{name}: {wall:.2f} s wall, {cpu:.2f} s CPU, "
            f"{1e6 * wall / args.count:.0f} us wall per file")
    cache = os.listdir(image_check.cache_dir())
    size = sum(os.path.getsize(os.path.join(image_check.cache_dir(), f)) for f in cache)
    print(f"cache: {len(cache)} file, {size / 1024:.0f} KiB")
  finally:
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
  main()
