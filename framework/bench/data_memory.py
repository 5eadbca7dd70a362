"""Peak memory of a run on an image folder as the folder grows: nearly flat in N.

  python -m framework.bench.data_memory [--sizes 2000,20000,100000]

For each N, writes N small JPEGs (16 x 16, 10 class folders) to a temporary folder and
trains one epoch of a linear model at image_size 16, batch 128, in a fresh process
(`framework.train.run`: load, stratified test split, training, evaluation, checkpoint),
which reports its own peak resident memory (`getrusage(RUSAGE_SELF).ru_maxrss`). Memory
holds paths and labels, never pixels: the pipeline decodes each file as it is needed, so
the peak grows by a few hundred bytes per image (its path, held in a few forms, and its
label and weights), whatever the size of the image; holding decoded pixels instead would
cost 768 bytes per image here and 150 kB at 224 x 224. To write 100,000 files quickly the
images are 64 distinct encoded JPEGs written under different names (the decoder does the
same work whatever the bytes). This parent process never imports TensorFlow, so it does
not inflate the children's peaks.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

CLASSES, DISTINCT, SIDE = 10, 64, 16


def write_folder(folder: str, count: int, seed: int = 0) -> None:
  """`count` JPEGs of SIDE x SIDE in CLASSES class folders, from DISTINCT encodings."""
  rng = np.random.default_rng(seed)
  encoded = []
  for _ in range(DISTINCT):
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)).save(
        buffer, "JPEG", quality=90)
    encoded.append(buffer.getvalue())
  for c in range(CLASSES):
    os.makedirs(os.path.join(folder, f"class_{c}"), exist_ok=True)
  for i in range(count):
    with open(os.path.join(folder, f"class_{i % CLASSES}", f"{i:07d}.jpg"), "wb") as f:
      f.write(encoded[i % DISTINCT])


def child(folder: str, workdir: str) -> None:
  """Trains one epoch on `folder` and prints a JSON line with the peak RSS."""
  start = time.perf_counter()
  from framework import train  # pylint: disable=g-import-not-at-top  (child only)
  from framework.config import base_config  # pylint: disable=g-import-not-at-top
  c = base_config()
  c.data.update(dict(source="image_folder", path=folder, image_size=SIDE))
  c.model.name = "linear"
  c.train.batch_size, c.train.epochs = 128, 1
  results = train.run(c, workdir, verbose=False)
  peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
  print(json.dumps({"steps": results["step"], "train": sum(results["class_counts"]),
                    "test": sum(results["final"]["support"]), "peak_mb": peak_kb / 1024,
                    "seconds": time.perf_counter() - start}))


def measure(count: int, base: str) -> dict:
  folder, workdir = os.path.join(base, f"images_{count}"), os.path.join(base, f"run_{count}")
  start = time.perf_counter()
  write_folder(folder, count)
  written = time.perf_counter() - start
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
  result = subprocess.run([sys.executable, "-m", "framework.bench.data_memory", "--child",
                           f"--folder={folder}", f"--workdir={workdir}"],
                          capture_output=True, text=True, env=env, check=False)
  shutil.rmtree(folder, ignore_errors=True)
  shutil.rmtree(workdir, ignore_errors=True)
  lines = [l for l in result.stdout.splitlines() if l.startswith("{")]
  if result.returncode or not lines:
    raise SystemExit(f"child for N={count} failed:\n{result.stderr[-3000:]}")
  return {"n": count, "write_s": written, **json.loads(lines[-1])}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--sizes", default="2000,20000,100000",
                      help="comma-separated numbers of images")
  parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
  parser.add_argument("--folder", help=argparse.SUPPRESS)
  parser.add_argument("--workdir", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:
    child(args.folder, args.workdir)
    return
  sizes = [int(s) for s in args.sizes.split(",")]
  print(f"image_folder of N JPEGs {SIDE}x{SIDE} ({DISTINCT} distinct encodings), "
        f"{CLASSES} classes, linear model, batch 128, one epoch + evaluation, "
        "one fresh process per N", flush=True)
  print(f"{'N':>8} {'train':>7} {'test':>6} {'steps':>6} {'peak RSS':>10} {'vs first':>9} "
        f"{'per image':>10} {'run':>6} {'write':>6}", flush=True)
  with tempfile.TemporaryDirectory() as base:
    first = None
    for count in sizes:
      r = measure(count, base)
      first = first or r
      extra = r["peak_mb"] - first["peak_mb"]
      per_image = (1024 * 1024 * extra / (r["n"] - first["n"])) if r is not first else 0.0
      print(f"{r['n']:>8} {r['train']:>7} {r['test']:>6} {r['steps']:>6} "
            f"{r['peak_mb']:>7.0f} MB {extra:>+6.0f} MB {per_image:>7.0f} B "
            f"{r['seconds']:>5.0f}s {r['write_s']:>5.1f}s", flush=True)


if __name__ == "__main__":
  main()
