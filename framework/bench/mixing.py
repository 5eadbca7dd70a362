"""Cost of mixed examples: an epoch with `data.mix.name` none, mixup, cutmix and remix.

    python -m framework.bench.mixing [--config fmnist_lt:ce] [--steps 116] [--repeats 5]

Mixing reads and augments each example's partner too (each replica's pipeline reads its
partners' rows itself), blends or pastes on the batch, and the step evaluates the loss at
two labels and the rule's weight for two examples. Every trainer is built and warmed up,
then timed in turns (round robin) in process CPU time; prints the median CPU seconds per
`--steps` steps (an epoch of the default protocol) and the ratio to no mixing.
"""

from __future__ import annotations

import argparse
import statistics
import time

from framework.config import experiment_config
from framework.train import experiment as experiment_lib

MIXINGS = ("none", "mixup", "cutmix", "remix")


def _trainer(spec: str, mixing: str):
  config = experiment_config(spec)
  config.data.mix.name = mixing
  return experiment_lib.build(config).trainer


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="fmnist_lt:ce")
  parser.add_argument("--steps", type=int, default=116)
  parser.add_argument("--repeats", type=int, default=5)
  args = parser.parse_args(argv)
  trainers = {mixing: _trainer(args.config, mixing) for mixing in MIXINGS}
  for trainer in trainers.values():
    trainer.train(args.steps).numpy()  # trace and warm up
  times = {mixing: [] for mixing in trainers}
  for _ in range(args.repeats):
    for mixing, trainer in trainers.items():
      start = time.process_time()
      trainer.train(args.steps).numpy()
      times[mixing].append(time.process_time() - start)
  plain = statistics.median(times["none"])
  for mixing in MIXINGS:
    cpu = statistics.median(times[mixing])
    print(f"{args.config} data.mix.name={mixing}: {cpu:.2f} s CPU per {args.steps} steps, "
          f"{cpu / plain:.2f}x no mixing (median of {args.repeats} round-robin loops)")


if __name__ == "__main__":
  main()
