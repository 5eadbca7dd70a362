"""Re-evaluates a finished run on its test split: `python -m framework.tools.evaluate WORKDIR`.

Rebuilds the run's data from its config (same source, same protocol, same seed), loads the
exported model (model.keras, or `--model=best.keras` when the run kept the best model on
its validation split) and prints the per-class table, with the final metrics of the run's
results beside it. Data that changed since the run (its fingerprint: another test split
once a csv has grown, say) is refused in one line; `--allow_changed_data` evaluates on it
anyway, with a warning. Bad input is one line and exit status 2.
"""

from __future__ import annotations

import sys

from framework.errors import ConfigError, one_line
from framework.tools.arguments import ToolParser
from framework.runs import files
from framework.runs.reader import FinishedRun


def evaluate(run: FinishedRun, model_file: str = files.MODEL) -> dict:
  """The test metrics of the run's exported model, from the rebuilt test split."""
  from framework.evaluation.evaluator import run_evaluator  # pylint: disable=g-import-not-at-top
  trained = run.trained_model(model_file)  # the model behind the normalisation
  return run_evaluator(trained, run.config, run.data).evaluate(run.data.test)


def main(argv: list[str] | None = None) -> int:
  parser = ToolParser(prog="python -m framework.tools.evaluate",
                      description=__doc__.splitlines()[0])
  parser.add_argument("workdir", help="the workdir of a finished run")
  parser.add_argument("--model", default=files.MODEL,
                      help=f"{files.MODEL} or {files.BEST_MODEL}")
  parser.add_argument("--allow_changed_data", action="store_true",
                      help="evaluate on the data as it is now even if it changed since the "
                           "run (a warning instead of an error)")
  args = parser.parse_args(argv)
  try:
    run = FinishedRun(args.workdir, args.allow_changed_data)
    metrics = evaluate(run, args.model)
  except ConfigError as e:  # one line already, kept whole
    print(f"evaluate: {e}", file=sys.stderr)
    return 2
  except (OSError, ValueError) as e:
    print(f"evaluate: {one_line(e)}", file=sys.stderr)
    return 2
  from framework.evaluation.metrics import format_per_class_table  # pylint: disable=g-import-not-at-top
  names = run.class_names or [str(c) for c in range(len(metrics["support"]))]
  print(format_per_class_table(metrics, names))
  if run.has(files.RESULTS):
    final = run.results["final"]
    print(f"{files.RESULTS} final: accuracy {final['accuracy']:.4f}, balanced acc "
          f"{final['balanced_accuracy']:.4f}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
