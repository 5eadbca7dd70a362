r"""Fashion-MNIST-noisy: the project's noisy-label protocol (CPU scale), one variant per rule.

  python launch.py --config=experiments/fmnist_noisy.py:l2rw --workdir=/tmp/noisy_runs/l2rw
  python -m framework.sweeps.run --sweep=fmnist_noisy_table --root=/tmp/noisy_runs   # every variant
  python -m framework.studies.noisy_table --root=/tmp/noisy_runs   # the table

Data: a seeded permutation of the 60,000 training images; the first 100 of each class form
the clean balanced validation set (1,000 images, used only by the meta rules); 10,000 of
the rest form the training set, each label replaced with probability 0.5 by one drawn
uniformly from the 10 classes (about 45% wrong; the mask is kept). Model: MLP
784-512-512-10 (ReLU), Adam 1e-3, batch 128, 40 epochs (3,120 steps); test on the 10,000
test images.

Variants (default "ce"): ce; l2rw (learning to reweight: virtual SGD step 0.1, clean
validation batch 100 per step); mwnet (Meta-Weight-Net: V 1-100-1, Adam 1e-3, wd 1e-4,
virtual step 0.1); data_parameters (per-sample and per-class temperatures, defaults of
that rule); mwnet_normalized (mwnet with V's outputs scaled to mean one per batch, as the
authors' older script does); gce, sce, bootstrap (robust losses); elr; co_teaching;
dividemix (two MLPs, 5 warm-up epochs, lambda_u 25 as at 50% noise);
loss_ema (weights from a per-sample EMA of the loss, the rule's defaults);
ce_sgd and mwnet_sgd (the model trained with the paper's SGD recipe instead of Adam);
ce_wd and mwnet_wd (Adam with that recipe's weight decay).

Expected: CE memorises the noise, peaking near 80% test accuracy around epoch 5 and
ending near 60% after 40 epochs; l2rw ended at 83.5% in a one-seed sketch, its
per-sample weights averaged over epochs ranking noisy labels with AUROC about 0.87
(REFERENCE.md). Targets:
meta rules >= 15 points above CE at the end, AUROC >= 0.90. Measured numbers (and the
scale at which they were measured) are in the README's section on meta rules.
"""

from framework.config import base_config, with_variant

# Shu et al.'s optimisation of the model (cifar_noisy.py's recipe): SGD, momentum 0.9
# (Nesterov), weight decay 5e-4, rate 0.1 divided by 10 at 0.9 and 0.95 of the run (epochs 36
# and 38 of 40).
_PAPER_SGD = {"optimizer.name": "sgd", "optimizer.learning_rate": 0.1,
              "optimizer.kwargs": {"momentum": 0.9, "nesterov": True},
              "optimizer.schedule": "step", "optimizer.decay_epochs": (0.9, 0.95),
              "optimizer.weight_decay": 5e-4}
_MWNET = {"inner_lr": 0.1, "meta_lr": 1e-3, "weight_decay": 1e-4}  # V: Adam 1e-3, L2 1e-4

VARIANTS = {
    "ce": {},
    "l2rw": {"rule.name": "l2rw", "rule.kwargs": {"inner_lr": 0.1}},
    "mwnet": {"rule.name": "mwnet", "rule.kwargs": _MWNET},
    # the paper's CIFAR-100 noisy-label run: instance parameters only, init 1, lr 0.2
    "data_parameters": {"rule.name": "data_parameters",
                        "rule.kwargs": {"preset": "cifar100_noisy"}},
    "mwnet_normalized": {"rule.name": "mwnet", "rule.kwargs": {**_MWNET, "normalize": True}},
    # Robust losses and noise-robust training (REFERENCE.md's CIFAR-10 settings).
    "gce": {"loss.name": "gce", "loss.kwargs": {"q": 0.7}},
    "sce": {"loss.name": "sce", "loss.kwargs": {"alpha": 0.1, "beta": 1.0}},
    "bootstrap": {"loss.name": "bootstrap", "loss.kwargs": {"mode": "hard"}},
    "elr": {"rule.name": "elr", "rule.kwargs": {"lam": 3.0, "beta": 0.7}},
    # forget rate = the fraction of wrong labels, 0.5 * 9/10 = 0.45 here
    "co_teaching": {"rule.name": "co_teaching",
                    "rule.kwargs": {"forget_rate": 0.45, "num_gradual": 10}},
    # two MLPs, warm-up before CE starts memorising (its test accuracy peaks near epoch 5)
    "dividemix": {"rule.name": "dividemix", "rule.kwargs": {"warm_up": 5, "lambda_u": 25.0}},
    # per-sample weights from an EMA of each example's loss (the rule's defaults)
    "loss_ema": {"rule.name": "loss_ema"},
    # CE and mwnet under the paper's SGD recipe, the virtual step at the model's rate
    "ce_sgd": _PAPER_SGD,
    "mwnet_sgd": {**_PAPER_SGD, "rule.name": "mwnet",
                  "rule.kwargs": {**_MWNET, "inner_lr": "model"}},
    # ... and with Adam plus only the recipe's weight decay (L2 5e-4 on the kernels)
    "ce_wd": {"optimizer.weight_decay": 5e-4},
    "mwnet_wd": {"optimizer.weight_decay": 5e-4, "rule.name": "mwnet", "rule.kwargs": _MWNET},
}


def get_config(variant=None):
  c = base_config()
  c.data.source = "fashion_mnist"
  c.data.val_per_class = 100
  c.data.train_size = 10000
  c.data.noise.kind = "symmetric"
  c.data.noise.rate = 0.5
  c.model.name = "mlp"
  c.model.kwargs = {"hidden": (512, 512)}
  c.optimizer.name = "adam"
  c.optimizer.learning_rate = 1e-3
  c.optimizer.schedule = "constant"
  c.train.batch_size = 128
  c.train.val_batch_size = 100
  c.train.epochs = 40
  c.train.eval_every_epochs = 1
  return with_variant(c, VARIANTS, variant, default="ce")
