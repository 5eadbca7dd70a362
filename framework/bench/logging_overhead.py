"""Cost of the TensorBoard summaries: the same run with summaries on (default) and off.

    python -m framework.bench.logging_overhead [--config experiments/fmnist_lt.py:ce]
        [--epochs 3] [--repeats 2]

Runs one experiment (default: the long-tailed Fashion-MNIST protocol with a small CNN,
plus 30% symmetric label noise, default logging: summaries every loop = every epoch)
alternately with summaries on and off (a NullWriter and `logging.summary_every_loops=0`;
weight snapshots stay on in both), `--repeats` times each, and prints the best wall
and CPU time of each, the overhead in percent (target <= 5%) and the time measured inside
the summary calls. On a machine shared with other jobs the wall-time difference is noisy;
the time inside the summary calls (a direct measurement) is the robust figure.
`--config synthetic` uses a tiny MLP on synthetic data instead.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import tempfile
import time
from unittest import mock

from framework import train
from framework.config import base_config
from framework.logging import NullWriter, run_summaries
from framework.trainer import Trainer

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _config(spec: str, epochs: int, summaries: bool):
  """The experiment `path.py[:variant]` (relative to the repo) or 'synthetic', noisy."""
  if spec == "synthetic":
    c = base_config()
    c.data.source = "synthetic"
    c.model.kwargs = {"hidden": (128,)}
  else:
    path, _, variant = spec.partition(":")
    module_spec = importlib.util.spec_from_file_location(
        "bench_experiment", path if os.path.isabs(path) else os.path.join(_REPO, path))
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    c = module.get_config(variant or None)
  c.data.noise = {"kind": "symmetric", "rate": 0.3}
  c.train.epochs = epochs
  if not summaries:
    c.logging.summary_every_loops = 0
  return c


def _timed_run(config, summaries: bool) -> tuple[float, float, float, float]:
  """Seconds of train.run (wall, process CPU), wall seconds inside the summary calls and
  inside the compiled training loops (which summaries do not touch: if those grow too,
  the machine was busier)."""
  inside = {"summaries": 0.0, "train": 0.0}

  def timed(method, key):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
      start = time.perf_counter()
      try:
        return method(*args, **kwargs)
      finally:
        inside[key] += time.perf_counter() - start
    return wrapper

  patches = [mock.patch.object(run_summaries.RunSummaries, name,
                               timed(getattr(run_summaries.RunSummaries, name), "summaries"))
             for name in ("write", "write_final")]
  patches.append(mock.patch.object(Trainer, "train", timed(Trainer.train, "train")))
  if not summaries:
    patches.append(mock.patch.object(train, "SummaryWriter", lambda logdir: NullWriter()))
  with tempfile.TemporaryDirectory() as workdir:
    for p in patches:
      p.start()
    try:
      start, cpu = time.perf_counter(), time.process_time()
      train.run(config, workdir, verbose=False)
      return (time.perf_counter() - start, time.process_time() - cpu, inside["summaries"],
              inside["train"])
    finally:
      for p in patches:
        p.stop()


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="experiments/fmnist_lt.py:ce")
  parser.add_argument("--epochs", type=int, default=3)
  parser.add_argument("--repeats", type=int, default=2)
  args = parser.parse_args(argv)
  _timed_run(_config(args.config, 1, False), False)  # warm-up: data cache, first imports
  times, cpus, inside, loops = ({True: [], False: []} for _ in range(4))
  for _ in range(args.repeats):
    for summaries in (True, False):
      wall, cpu, spent, trained = _timed_run(_config(args.config, args.epochs, summaries),
                                             summaries)
      loops[summaries].append(trained)
      times[summaries].append(wall)
      cpus[summaries].append(cpu)
      inside[summaries].append(spent)
  on, off = min(times[True]), min(times[False])
  cpu_on, cpu_off = min(cpus[True]), min(cpus[False])
  spent_on, spent_off = min(inside[True]), min(inside[False])
  print(f"experiment: {args.config}, {args.epochs} epochs, 30% symmetric noise, "
        f"summaries every loop (= every epoch), {args.repeats} runs each (best of runs: the "
        "least disturbed by other jobs)")
  for name, values in (("on ", times[True]), ("off", times[False])):
    print(f"summaries {name}: wall {min(values):7.2f} s (runs: "
          f"{', '.join(f'{t:.2f}' for t in values)}; of which in training loops: "
          f"{', '.join(f'{t:.2f}' for t in loops[name == 'on '])})")
  print(f"wall-time overhead (on - off) / off: {100 * (on - off) / off:+.2f}%  (target <= 5%)")
  print(f"process CPU: on {cpu_on:.2f} s, off {cpu_off:.2f} s, overhead "
        f"{100 * (cpu_on - cpu_off) / cpu_off:+.2f}%")
  print(f"wall time inside RunSummaries.write/write_final: on {spent_on:.3f} s "
        f"({100 * spent_on / on:.2f}% of the run), off {spent_off:.3f} s "
        "(eval metrics and snapshots only)")

if __name__ == "__main__":
  main()
