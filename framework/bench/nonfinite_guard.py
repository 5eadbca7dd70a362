"""Cost of the non-finite guard: the same step with `train.on_nonfinite="stop"` and "off".

    python -m framework.bench.nonfinite_guard [--config fmnist_lt:ce] [--steps 200]
        [--repeats 7]

The guard sums every gradient, checks it and the loss, all-reduces two flags with the
stop flag the step all-reduces anyway, and applies the update in a conditional; "off"
applies it unconditionally. Both trainers are built and warmed up, then timed in turns
(round robin, so a slow spell of a shared machine hits both); prints the median ms per
step and the ratio (target: under 2% more).
"""

from __future__ import annotations

import argparse
import statistics
import time

from framework.train import experiment as experiment_lib
from framework.config import experiment_config


def _trainer(spec: str, policy: str):
  config = experiment_config(spec)
  config.train.on_nonfinite = policy
  return experiment_lib.build(config).trainer


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="fmnist_lt:ce")
  parser.add_argument("--steps", type=int, default=200)
  parser.add_argument("--repeats", type=int, default=7)
  args = parser.parse_args(argv)
  trainers = {policy: _trainer(args.config, policy) for policy in ("stop", "off")}
  for trainer in trainers.values():
    trainer.train(args.steps).numpy()  # trace and warm up
  times = {policy: [] for policy in trainers}
  for _ in range(args.repeats):
    for policy, trainer in trainers.items():
      start = time.perf_counter()
      trainer.train(args.steps).numpy()
      times[policy].append((time.perf_counter() - start) / args.steps)
  guarded, plain = (statistics.median(times[p]) for p in ("stop", "off"))
  print(f"{args.config}: guard on {1e3 * guarded:.3f} ms/step, off {1e3 * plain:.3f} ms/step, "
        f"cost {100 * (guarded - plain) / plain:+.2f}% (target < 2%; median of {args.repeats} "
        f"round-robin loops of {args.steps} steps)")


if __name__ == "__main__":
  main()
