"""Finding the wrong labels, stage 3: prune and retrain. ce of experiments/fmnist_noisy.py at
40% symmetric noise, seeds 0, 1 and 2, on the training data minus each flagged set that
`python -m framework.studies.label_issues` wrote under this sweep's root (ROOT/flagged/
seed<s>/<name>.csv: cleanlab's, each framework ranking's, the true noise mask's).

  python -m framework.sweeps.run --sweep=fmnist_label_issues_retrain \\
      --root=/tmp/label_issues/retrain --workers=2
"""

from framework.sweeps import Sweep

FLAGGED = ("cleanlab", "ce", "elr", "l2rw", "mwnet", "oracle")


def get_sweep():
  return Sweep(experiment="fmnist_noisy", variants=("ce",), seeds=(0, 1, 2),
               product={"data.leave_out.file": tuple(
                   f"{{root}}/flagged/seed{{seed}}/{name}.csv" for name in FLAGGED)},
               fixed={"data.noise.rate": 0.4})
