"""Cost of a meta rule's step relative to a plain step, same model and batch.

    python -m framework.bench.meta_step [--steps 300] [--repeats 7] [--rules l2rw,mwnet,meta_alpha]

Builds the noisy Fashion-MNIST protocol (experiments/fmnist_noisy.py: MLP 784-512-512-10,
batch 128, clean validation batch 100) once per rule, runs one compiled loop of each to
trace and warm up, then times `--repeats` rounds in which every rule runs one compiled
loop of `--steps` steps in turn (so a slow spell of a shared machine hits them all), and
prints the median time per step and its ratio to the `fixed` rule (a plain weighted step;
target <= 3x). Per step, learning to reweight adds a backward pass of the validation loss
and a reverse pass through a backward pass of the batch's weighted loss; mwnet and
meta_alpha also use that backward pass's values (the virtual step).
"""

from __future__ import annotations

import argparse
import statistics
import time

from framework.train import experiment as experiment_lib
from framework.config import load_experiment


def timed_loop(rule: str, steps: int):
  """A function that runs one compiled loop of `steps` steps of `rule` (traced and warm)."""
  config = load_experiment("fmnist_noisy").get_config("ce")
  config.rule.name = rule
  exp = experiment_lib.build(config)
  loop = lambda: float(exp.trainer.train(steps))
  loop()  # trace and warm up
  return loop


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=300)
  parser.add_argument("--repeats", type=int, default=7)
  parser.add_argument("--rules", default="l2rw,mwnet,meta_alpha")
  args = parser.parse_args()
  rules = ["fixed"] + args.rules.split(",")
  loops = {rule: timed_loop(rule, args.steps) for rule in rules}
  times = {rule: [] for rule in rules}
  for _ in range(args.repeats):  # round robin: a slow spell of the machine hits every rule
    for rule in rules:
      start = time.perf_counter()
      loops[rule]()
      times[rule].append((time.perf_counter() - start) / args.steps)
  base = statistics.median(times["fixed"])
  print(f"fixed (plain step): {1e3 * base:.2f} ms/step (MLP 784-512-512-10, batch 128)")
  for rule in rules[1:]:
    seconds = statistics.median(times[rule])
    print(f"{rule}: {1e3 * seconds:.2f} ms/step = {seconds / base:.2f}x the plain step "
          f"(target <= 3x)", flush=True)


if __name__ == "__main__":
  main()
