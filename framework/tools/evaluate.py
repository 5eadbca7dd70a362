"""Re-evaluates a finished run on its test split: `python -m framework.tools.evaluate WORKDIR`.

Rebuilds the run's data from `WORKDIR/config.json` (same source, same protocol, same
seed), loads the exported model (`model.keras`, or `--model=best.keras` when the run kept
the best model on its validation split) and prints the per-class table; with the final
metrics of results.json beside it. Bad input is one line and exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from framework.errors import ConfigError, one_line
from framework.runs.rundir import RunDir
from framework.runs import files


def rebuild(workdir: str):
  """(config, data) of a finished run, its data rebuilt from `WORKDIR/config.json`."""
  import ml_collections  # pylint: disable=g-import-not-at-top
  rundir = RunDir(workdir)
  if not rundir.exists(files.CONFIG):
    raise ConfigError(f"{workdir!r} has no config.json; allowed: the workdir of a finished run")
  config = ml_collections.ConfigDict(rundir.read_json(files.CONFIG))
  if config.data.source == "python":
    raise ConfigError(f"{workdir!r} was trained on arrays passed from Python, which its "
                      "config.json cannot rebuild; use framework.tools.predict or Result.predict")
  from framework import data as data_lib  # pylint: disable=g-import-not-at-top
  from framework.train.experiment import import_extra_modules  # pylint: disable=g-import-not-at-top
  import_extra_modules(config.extra_modules)
  return config, data_lib.build(config.data)


def evaluate(workdir: str, model_file: str = files.MODEL) -> dict:
  """The test metrics of the run's exported model, from the rebuilt test split."""
  if not RunDir(workdir).exists(model_file):
    raise ConfigError(f"{workdir!r} has no {model_file}; allowed: the workdir of a finished run")
  config, data = rebuild(workdir)
  from framework.runs import export  # pylint: disable=g-import-not-at-top
  from framework.evaluation.evaluator import run_evaluator  # pylint: disable=g-import-not-at-top
  trained = export.load_trained(workdir, model_file)  # the model behind the normalisation
  return run_evaluator(trained, config.eval, data).evaluate(data.test)


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m framework.tools.evaluate",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("workdir", help="the workdir of a finished run")
  parser.add_argument("--model", default=files.MODEL, help="model.keras or best.keras")
  args = parser.parse_args(argv)
  try:
    metrics = evaluate(args.workdir, args.model)
  except (ConfigError, OSError, ValueError) as e:
    print(f"evaluate: {one_line(e)}", file=sys.stderr)
    return 2
  from framework.evaluation.metrics import format_per_class_table  # pylint: disable=g-import-not-at-top
  rundir = RunDir(args.workdir)
  names = rundir.read_json(files.DATA)["class_names"] if rundir.exists(files.DATA) else [
      str(c) for c in range(len(metrics["support"]))]
  print(format_per_class_table(metrics, names))
  if rundir.exists(files.RESULTS):
    final = rundir.read_json(files.RESULTS)["final"]
    print(f"results.json final: accuracy {final['accuracy']:.4f}, balanced acc "
          f"{final['balanced_accuracy']:.4f}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
