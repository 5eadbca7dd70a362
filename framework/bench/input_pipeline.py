"""Throughput of the augmented input stream, and how much of a training step waits for it.

  python -m framework.bench.input_pipeline [--batches 300] [--steps 50] [--repeats 10]
                                           [--files 5000] [--rounds 5]

1. The training stream alone (`InputStreams`, the trainer's own `distributed_stream` path)
   on CIFAR-shaped in-memory uint8 data (50,000 x 32 x 32 x 3, random pixels), crop_flip,
   CIFAR normalisation, global batch 128: images/s (target >= 20,000 on 2 cores).
2. The same on a folder of `--jpegs` JPEG files of 64 x 64 written to a temporary folder,
   decoded on the fly, resized_crop_flip to `--image_size`: images/s.
3. The real trainer (small CNN, batch 128) on (1) with the real stream, against the same
   trainer fed one constant, pre-built batch served the same way: the share of the step
   spent on input is 1 - t(constant) / t(real) (target < 5%), from the fastest and the
   median of alternating timings. Both compete for the same cores, as in a run. Also
   printed: the stream's own work per batch (from 1.) as a share of the step, the cost of
   the input were it not overlapped with the step at all, an upper bound that a noisy
   machine does not blur.
4. The stream of image files against a hand-written tf.data pipeline doing the same work
   (`reference_stream`: read, decode, bring to size, batch, then pad-crop-flip and normalise
   the batch; parallel maps, prefetch), on generated folders of `--files` 32 x 32 JPEGs and
   PNGs, crop_flip: this process's CPU time per image of each, from `--rounds` round-robin
   timings (median), so other processes on the machine hardly change it (target: the
   framework within 10% of the reference).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np
from PIL import Image
import tensorflow as tf

from framework.train import experiment as experiment_lib
from framework.config import base_config
from framework.data import build, cifar, default_data_config
from framework.data.augment import InputTransform
from framework.data.bundle import Split
from framework.train.distribute import make_strategy
from framework.data.stream import InputStreams

BATCH = 128


def _rate(iterator, batches: int, chunks: int = 3) -> float:
  """Images per second pulled from `iterator`: the best of `chunks` timings of
  batches / chunks batches each (after a warm-up of 20), so a busy spell of a shared
  machine counts less."""
  for _ in range(20):
    next(iterator)
  best = 0.0
  for _ in range(chunks):
    start = time.perf_counter()
    for _ in range(batches // chunks):
      next(iterator)
    best = max(best, batches // chunks * BATCH / (time.perf_counter() - start))
  return best


def in_memory_rate(x: np.ndarray, y: np.ndarray, batches: int) -> float:
  transform = InputTransform((32, 32, 3), "crop_flip", 4, 255.0, cifar.MEAN, cifar.STD)
  strategy = make_strategy(base_config().strategy)
  streams = InputStreams(strategy, Split(x, y), BATCH, seed=0, transform=transform)
  return _rate(streams.iterators(0)[0], batches)


def write_jpegs(folder: str, count: int, classes: int = 10, seed: int = 0) -> None:
  """`count` smooth 64 x 64 JPEGs (random 8 x 8 colours, upsampled) in class folders."""
  rng = np.random.default_rng(seed)
  for i in range(count):
    small = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    path = os.path.join(folder, f"class_{i % classes}", f"{i:06d}.jpg")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    small.resize((64, 64), Image.BILINEAR).save(path, quality=90)


def jpeg_rate(count: int, image_size: int, batches: int) -> float:
  with tempfile.TemporaryDirectory() as folder:
    write_jpegs(folder, count)
    cfg = default_data_config()
    cfg.update(dict(source="image_folder", path=folder, image_size=image_size,
                    augment="resized_crop_flip"))
    bundle = build(cfg)
    strategy = make_strategy(base_config().strategy)
    streams = InputStreams(strategy, bundle.train, BATCH, seed=0, transform=bundle.transform)
    return _rate(streams.iterators(0)[0], batches)


def write_images(folder: str, count: int, extension: str, size: int = 32,
                 classes: int = 10, seed: int = 0) -> None:
  """`count` smooth size x size images (random 8 x 8 colours, upsampled) in class folders."""
  rng = np.random.default_rng(seed)
  for i in range(count):
    small = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    path = os.path.join(folder, f"class_{i % classes}", f"{i:06d}.{extension}")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    small.resize((size, size), Image.BILINEAR).save(path)


def reference_stream(paths: list[str], transform: InputTransform, seed: int = 0
                     ) -> tf.data.Dataset:
  """Plain tf.data doing the file stream's work by hand, for files of the transform's size:
  each epoch a shuffled order, files read and decoded (JPEG with the accurate IDCT, as the
  framework) in a parallel map, batched, then padded, randomly cropped, flipped and
  normalised a batch at a time in a parallel map, prefetched."""
  height, width, _ = transform.output_shape
  pad, span = transform.crop_padding, 2 * transform.crop_padding + 1
  mean, std = np.float32(transform.mean), np.float32(transform.std)

  def load(path):
    raw = tf.io.read_file(path)
    image = tf.cond(tf.io.is_jpeg(raw),
                    lambda: tf.io.decode_jpeg(raw, channels=3, dct_method="INTEGER_ACCURATE"),
                    lambda: tf.io.decode_png(raw, channels=3))
    return tf.ensure_shape(image, (height, width, 3))

  def augment(step, images):
    u = tf.random.stateless_uniform([tf.shape(images)[0], 3], [seed, step])
    offsets = tf.cast(u[:, :2] * span, tf.int32)
    rows = offsets[:, :1] + tf.range(height)
    columns = offsets[:, 1:] + tf.where(u[:, 2:] < 0.5, tf.range(width - 1, -1, -1),
                                        tf.range(width))
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    crops = tf.gather(tf.gather(padded, rows, axis=1, batch_dims=1), columns, axis=2,
                      batch_dims=1)
    return (tf.cast(crops, tf.float32) / transform.pixel_max - mean) / std

  files = (tf.data.Dataset.from_tensor_slices(paths).repeat()
           .shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
           .map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(BATCH, drop_remainder=True))
  return (tf.data.Dataset.zip((tf.data.Dataset.range(tf.int64.max), files))
          .map(augment, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE))


def file_cpu_per_image(count: int, batches: int, rounds: int) -> dict:
  """{(format, pipeline): median CPU microseconds per image} for the framework's file
  stream and `reference_stream` (which, knowing every image has the size, decodes to uint8
  and crops uint8 pixels) on folders of `count` 32 x 32 JPEGs and PNGs, crop_flip,
  CIFAR normalisation; every round times `batches` batches of each pipeline in turn."""
  out = {}
  for extension in ("jpg", "png"):
    with tempfile.TemporaryDirectory() as folder:
      write_images(folder, count, extension)
      cfg = default_data_config()
      cfg.update(dict(source="image_folder", path=folder, image_size=32, augment="crop_flip",
                      mean=cifar.MEAN, std=cifar.STD))
      bundle = build(cfg)
      strategy = make_strategy(base_config().strategy)
      streams = InputStreams(strategy, bundle.train, BATCH, seed=0, transform=bundle.transform)
      paths = list(bundle.train.examples.paths)
      iterators = {"framework": streams.iterators(0)[0],
                   "reference": iter(reference_stream(paths, bundle.transform))}
      cpu = {name: [] for name in iterators}
      for name, iterator in iterators.items():  # warm up
        for _ in range(20):
          next(iterator)
      for i in range(rounds):
        for name in sorted(iterators, reverse=bool(i % 2)):
          start = time.process_time()
          for _ in range(batches):
            next(iterators[name])
          cpu[name].append(1e6 * (time.process_time() - start) / (batches * BATCH))
      for name in iterators:
        out[extension, name] = statistics.median(cpu[name])
  return out


class ConstantInputs(InputStreams):
  """The trainer's inputs replaced by one pre-built batch, repeated (no input work)."""

  def __init__(self, streams: InputStreams, batch: dict):
    super().__init__(streams.strategy, streams.train_split, streams.batch_size, streams.seed,
                     transform=streams.transform)
    self.batch = {k: np.asarray(v) for k, v in batch.items()}

  def iterators(self, step: int) -> tuple:
    """The batch's per-replica rows, served the way `distributed_stream` serves them (the
    same static shapes reach the compiled step)."""
    del step
    replicas = self.strategy.num_replicas_in_sync
    rows = {k: v.reshape(replicas, -1, *v.shape[1:]) for k, v in self.batch.items()}
    def dataset_fn(ctx: tf.distribute.InputContext) -> tf.data.Dataset:
      del ctx  # one host
      return tf.data.Dataset.from_tensor_slices(rows).repeat()
    options = tf.distribute.InputOptions(experimental_fetch_to_device=True)
    return iter(self.strategy.distribute_datasets_from_function(dataset_fn, options)), None


def _cifar_config(path: str):
  c = base_config()
  c.data.update(dict(source="npz", path=path, augment="crop_flip", mean=cifar.MEAN,
                     std=cifar.STD))
  c.model.name = "small_cnn"
  c.train.batch_size = BATCH
  return c


def input_share(x: np.ndarray, y: np.ndarray, steps: int, repeats: int) -> dict:
  """{(stream, clock): ms per step} for stream real / constant, from `repeats` timings taken
  in alternating order: clock "wall min" and "wall median" (wall time), "cpu median" (this
  process's CPU time, which other processes on the machine hardly change)."""
  with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "cifar_shaped.npz")
    np.savez(path, x_train=x, y_train=y, x_test=x[:1000], y_test=y[:1000])
    real = experiment_lib.build(_cifar_config(path))
    constant = experiment_lib.build(_cifar_config(path))
  first = next(real.trainer.inputs.iterators(0)[0])
  constant.trainer.inputs = ConstantInputs(real.trainer.inputs,
                                           {k: v.numpy() for k, v in first.items()})
  runs = {"real": lambda: float(real.trainer.train(steps)),
          "constant": lambda: float(constant.trainer.train(steps))}
  wall, cpu = {name: [] for name in runs}, {name: [] for name in runs}
  for run in runs.values():
    run()  # trace and warm up
  for i in range(repeats):  # alternating, so a slow spell of the machine hits both
    for name in sorted(runs, reverse=bool(i % 2)):
      start, start_cpu = time.perf_counter(), time.process_time()
      runs[name]()
      wall[name].append(1e3 * (time.perf_counter() - start) / steps)
      cpu[name].append(1e3 * (time.process_time() - start_cpu) / steps)
  out = {}
  for name in runs:
    out[name, "wall min"] = min(wall[name])
    out[name, "wall median"] = statistics.median(wall[name])
    out[name, "cpu median"] = statistics.median(cpu[name])
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batches", type=int, default=300, help="batches timed per stream")
  parser.add_argument("--jpegs", type=int, default=2000)
  parser.add_argument("--image_size", type=int, default=32)
  parser.add_argument("--steps", type=int, default=50, help="trainer steps per timing")
  parser.add_argument("--repeats", type=int, default=10)
  parser.add_argument("--files", type=int, default=5000, help="images a folder (part 4)")
  parser.add_argument("--rounds", type=int, default=5, help="round-robin timings (part 4)")
  parser.add_argument("--only_files", action="store_true", help="part 4 alone")
  args = parser.parse_args()
  if args.only_files:
    return print_file_cpu(args)
  rng = np.random.default_rng(0)
  x = np.frombuffer(rng.bytes(50000 * 32 * 32 * 3), np.uint8).reshape(50000, 32, 32, 3)
  y = rng.integers(0, 10, 50000)
  print(f"{os.cpu_count()} CPU cores, TensorFlow {tf.__version__}, global batch {BATCH}",
        flush=True)
  rate = memory_rate = in_memory_rate(x, y, args.batches)
  print(f"in-memory uint8 50000x32x32x3, crop_flip + normalise: {rate:9,.0f} images/s "
        f"(target >= 20,000; best of 3)", flush=True)
  rate = jpeg_rate(args.jpegs, args.image_size, args.batches)
  print(f"{args.jpegs} JPEG files 64x64, decode + resized_crop_flip to {args.image_size}: "
        f"{rate:9,.0f} images/s (best of 3)", flush=True)
  ms = input_share(x, y, args.steps, args.repeats)
  print(f"trainer, small_cnn, CIFAR-shaped crop_flip, {args.repeats} alternating timings of "
        f"{args.steps} steps (target: input < 5% of the step):", flush=True)
  for clock in ("wall min", "wall median", "cpu median"):
    real, const = ms["real", clock], ms["constant", clock]
    print(f"  {clock:11s}: {real:7.2f} ms/step with the real stream, {const:7.2f} with a "
          f"constant batch: {100 * (1 - const / real):+5.1f}% is input", flush=True)
  work = 1e3 * BATCH / memory_rate  # ms of input work a batch
  print(f"  bound: the stream's own work (first line) is {work:.2f} ms a batch, "
        f"{100 * work / ms['real', 'wall min']:.1f}% of the fastest step", flush=True)
  print_file_cpu(args)


def print_file_cpu(args: argparse.Namespace) -> None:
  cpu = file_cpu_per_image(args.files, args.batches // 3, args.rounds)
  print(f"{args.files} files 32x32, crop_flip + normalise, process CPU per image (median of "
        f"{args.rounds} round-robin timings; target: framework within 10% of reference):")
  for extension in ("jpg", "png"):
    mine, ref = cpu[extension, "framework"], cpu[extension, "reference"]
    print(f"  {extension}: framework {mine:6.1f} us, reference tf.data {ref:6.1f} us: "
          f"{100 * (mine / ref - 1):+5.1f}%", flush=True)


if __name__ == "__main__":
  main()
