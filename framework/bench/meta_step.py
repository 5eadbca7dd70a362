"""Cost of a meta rule's step relative to a plain step, same model and batch.

    python -m framework.bench.meta_step [--steps 50] [--repeats 3] [--rules l2rw,mwnet,meta_alpha]

Builds the noisy Fashion-MNIST protocol (experiments/fmnist_noisy.py: MLP 784-512-512-10,
batch 128, clean validation batch 100) once per rule, runs one compiled loop to trace and
warm up, then times `--repeats` compiled loops of `--steps` steps and prints the median
time per step and its ratio to the `fixed` rule (a plain weighted step; target <= 3x).
Per step, learning to reweight adds a backward pass of the validation loss and one
forward-mode pass over the batch; mwnet and meta_alpha also a backward pass of the
weighted training loss (the virtual step). Wall time on a shared machine is noisy;
repeats and the median reduce, not remove, that noise.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time

from framework import experiment as experiment_lib
from framework.pipeline import distributed_stream

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _config(rule: str):
  spec = importlib.util.spec_from_file_location(
      "fmnist_noisy", os.path.join(_REPO, "experiments", "fmnist_noisy.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  config = module.get_config("ce")
  config.rule.name = rule
  return config


def time_per_step(rule: str, steps: int, repeats: int) -> float:
  """Median seconds per step of compiled loops of `steps` steps (after a warm-up loop)."""
  config = _config(rule)
  exp = experiment_lib.build(config)
  t = config.train
  it = iter(distributed_stream(exp.strategy, exp.data.train, t.batch_size, config.seed))
  val = None
  if exp.rule.meta is not None:
    val = iter(distributed_stream(exp.strategy, exp.data.val, t.val_batch_size, config.seed))
  float(exp.trainer.train(it, steps, val))  # trace and warm up
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    float(exp.trainer.train(it, steps, val))
    times.append((time.perf_counter() - start) / steps)
  return statistics.median(times)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=50)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--rules", default="l2rw,mwnet,meta_alpha")
  args = parser.parse_args()
  base = time_per_step("fixed", args.steps, args.repeats)
  print(f"fixed (plain step): {1e3 * base:.2f} ms/step (MLP 784-512-512-10, batch 128)")
  for rule in args.rules.split(","):
    seconds = time_per_step(rule, args.steps, args.repeats)
    print(f"{rule}: {1e3 * seconds:.2f} ms/step = {seconds / base:.2f}x the plain step "
          f"(target <= 3x)", flush=True)


if __name__ == "__main__":
  main()
