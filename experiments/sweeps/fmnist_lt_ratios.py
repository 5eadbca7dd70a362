"""CE against LDAM-DRW on Fashion-MNIST-LT at imbalance ratios 10 and 100, two seeds, at
a small scale (2 epochs on the first 6,000 training images): 8 runs, about 20 s each on
a 2-core CPU.

  python -m framework.sweeps.run --sweep=experiments/sweeps/fmnist_lt_ratios.py \\
      --root=/tmp/lt_ratios --workers=2
"""

from framework.sweeps import Sweep


def get_sweep():
  return Sweep(experiment="fmnist_lt", variants=("ce", "ldam_drw"), seeds=(0, 1),
               product={"data.long_tail.imbalance_ratio": (10.0, 100.0)},
               fixed={"train.epochs": 2, "train.eval_every_epochs": 2,
                      "data.train_size": 6000})
