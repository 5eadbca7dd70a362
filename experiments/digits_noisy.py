r"""Digits-noisy: how well each rule's per-sample weights find the mislabelled digits.

  python launch.py --config=experiments/digits_noisy.py:loss_ema --workdir=/tmp/loss_ema
  python -m framework.sweeps.run --sweep=digits_noise_auroc --root=/tmp/digits_noisy --workers=1
  python -m framework.report --runs=/tmp/digits_noisy --out=/tmp/digits_noisy_report   # the table

Data: scikit-learn's 8x8 digits (1,797 images), a seeded 25% balanced test split (451
images); each of the 1,346 training labels replaced with probability 0.4 by one drawn
uniformly from the 10 classes (about 36% wrong, 528 at data seed 0; the mask is kept).
Model: MLP 64-256-256-10 (ReLU), Adam 1e-3, batch 128, 30 epochs, evaluated every epoch;
a weight snapshot every epoch, from which the report scores the weights as a noise
detector (AUROC of -weight against the mask, for the rule's final signal and for the
weight averaged over the epochs).

Variants (default "ce"): ce (all weights 1: no AUROC); data_parameters (instance
temperatures only, as in the paper's noisy CIFAR setting, its rate larger because the
rule's gradient is that of the mean loss); loss_ema; exp_gradient; superloss (tau an EMA
of the loss). Fashion-MNIST: `--config.data.source=fashion_mnist
--config.data.train_size=10000`, or experiments/fmnist_noisy.py for that protocol.
"""

from framework.config import base_config, with_variant

VARIANTS = {
    "ce": {},
    "data_parameters": {"rule.name": "data_parameters",
                        "rule.kwargs": {"per_class": False, "inst_lr": 20.0}},
    "loss_ema": {"rule.name": "loss_ema", "rule.kwargs": {"rate": 0.3, "temperature": 1.0}},
    "exp_gradient": {"rule.name": "exp_gradient", "rule.kwargs": {"eta": 0.1}},
    "superloss": {"rule.name": "superloss", "rule.kwargs": {"tau": "ema", "lam": 1.0}},
}


def get_config(variant=None):
  c = base_config()
  c.data.source = "digits"
  c.data.noise.kind = "symmetric"
  c.data.noise.rate = 0.4
  c.model.name = "mlp"
  c.model.kwargs = {"hidden": (256, 256)}
  c.optimizer.name = "adam"
  c.optimizer.learning_rate = 1e-3
  c.train.batch_size = 128
  c.train.epochs = 30
  c.train.eval_every_epochs = 1
  c.logging.snapshot_every_epochs = 1
  return with_variant(c, VARIANTS, variant, default="ce")
