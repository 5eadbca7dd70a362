r"""Runs a sweep: every run of a declaration, in parallel processes, resumable.

  python -m framework.sweeps.run --sweep=experiments/sweeps/fmnist_lt_ratios.py \
      --root=/tmp/lt_ratios --workers=2 [--shard=0 --num_shards=4] [--threads=0] \
      [--variants=ce,ldam_drw]

--sweep takes a path or the name of a shipped declaration (experiments/sweeps/, installed as
framework/experiments/sweeps/: `--sweep=fmnist_lt_table`); --variants runs a subset.

Each run trains in ROOT/<variant>/<settings>/seed<s> (an ordinary workdir). Every run's
config is built and checked before the first starts, so a bad field, an unknown variant or
an unwritable root is one line and nothing runs. A finished run is left as it is; an
unfinished one resumes from its checkpoint: re-running the command completes the sweep.
With --shard / --num_shards (a job array's index and size) the process runs a fixed,
disjoint share of the runs; shards share ROOT through the filesystem only.
Exit status: 0 every run of this shard finished, 1 a bad sweep or a failed run, 75 stopped
by SIGTERM / Ctrl-C (the runs checkpointed: re-run to resume).
"""

from __future__ import annotations

import sys
import time

from framework.errors import ConfigError
from framework.sweeps import devices
from framework.sweeps.declaration import load_sweep, sweep_file
from framework.sweeps.plan import check, finished, plan, shard
from framework.sweeps.pool import Pool, worker_command
from framework.tools import cli


def main(argv: list[str]) -> int:
  if any(arg in ("--help", "-h", "--helpshort") for arg in argv[1:]):
    try:
      print(__doc__.strip())
    except BrokenPipeError:  # | head
      pass
    return 0
  from absl import flags  # pylint: disable=g-import-not-at-top
  values = flags.FlagValues()  # fresh, so main() can run again in one process (tests)
  flags.DEFINE_string("sweep", None, "The sweep declaration (a .py file with get_sweep()).",
                      flag_values=values, required=True)
  flags.DEFINE_string("root", None, "The folder of the runs' workdirs.", flag_values=values,
                      required=True)
  flags.DEFINE_list("variants", None, "Run only these variants of the sweep.",
                    flag_values=values)
  flags.DEFINE_integer("workers", 1, "Runs at a time.", lower_bound=1, flag_values=values)
  flags.DEFINE_integer("shard", 0, "This process's shard (a job array's index).",
                       lower_bound=0, flag_values=values)
  flags.DEFINE_integer("num_shards", 1, "The number of shards (a job array's size).",
                       lower_bound=1, flag_values=values)
  flags.DEFINE_integer("threads", 0, "TensorFlow CPU threads per worker when no GPU is "
                       "visible (0: the cores split among the workers).", lower_bound=0,
                       flag_values=values)
  try:
    values(argv)
  except flags.Error as e:
    return cli.fail(cli.explain_flag_error(e))
  try:
    path = sweep_file(values.sweep)
    sweep = load_sweep(path)
    every = plan(sweep.only(values.variants) if values.variants else sweep, path, values.root)
    check(every, values.root)
    runs = shard(every, values.shard, values.num_shards)
  except ConfigError as e:
    return cli.fail(str(e))
  gpus = devices.visible_gpus()
  threads = devices.cpu_threads(values.workers, values.threads)
  share = (f" (shard {values.shard} of {values.num_shards}: {len(runs)} runs)"
           if values.num_shards > 1 else "")
  print(f"sweep {values.sweep}: {len(every)} runs in {values.root}{share}; "
        f"{devices.describe(values.workers, gpus, threads)}", flush=True)
  pool = Pool(runs, {r.name for r in runs if finished(r)},
              worker_command(path, values.root),
              lambda slot: devices.worker_env(slot, gpus, threads), values.workers)
  start = time.time()
  outcomes = pool.run()
  return _summary(pool, outcomes, time.time() - start)


def _summary(pool: Pool, outcomes: dict, seconds: float) -> int:
  """The closing lines (every failure with its message) and the exit status."""
  counts = pool.counts()
  reused = sum(o.status == "reused" for o in outcomes.values())
  print(f"sweep {'stopped' if pool.stopped_by else 'ended'} after {seconds:.0f} s: "
        f"{counts['done']} of {pool.total} runs finished ({reused} before), "
        f"{counts['failed']} failed, {counts['left']} left", flush=True)
  for name, outcome in outcomes.items():
    if outcome.status == "failed":
      print(f"  failed: {name}: {outcome.message}", flush=True)
  if counts["failed"] or (counts["left"] and not pool.stopped_by):
    return 1
  return 75 if pool.stopped_by else 0


if __name__ == "__main__":
  sys.exit(main(sys.argv))
