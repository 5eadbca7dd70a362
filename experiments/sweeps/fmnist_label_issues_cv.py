"""Finding the wrong labels, stage 2: cleanlab's out-of-sample probabilities. ce of
experiments/fmnist_noisy.py at 40% symmetric noise, 5-fold cross-validation (each run
trains on four folds of the training split), seeds 0, 1 and 2: 15 runs.

  python -m framework.sweeps.run --sweep=fmnist_label_issues_cv --root=/tmp/label_issues/cv \\
      --workers=2
"""

from framework.sweeps import Sweep


def get_sweep():
  return Sweep(experiment="fmnist_noisy", variants=("ce",), seeds=(0, 1, 2),
               product={"data.folds.held_out": (0, 1, 2, 3, 4)},
               fixed={"data.noise.rate": 0.4, "data.folds.count": 5})
