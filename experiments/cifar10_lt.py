r"""Long-tailed CIFAR-10 (Cao et al. 2019's protocol and LDAM-DRW recipe), one variant per method.

  python launch.py --config=experiments/cifar10_lt.py:ldam_drw --workdir=runs/c10lt/ldam_drw
  python launch.py --config=experiments/cifar10_lt.py:ce --workdir=runs/c10lt10/ce \
      --config.data.long_tail.imbalance_ratio=10

NEEDS A GPU: 200 epochs of ResNet-32 (about 97 steps an epoch at IR 100). Not run here (no
GPU, no network); only short smoke runs of these configs on generated CIFAR files were.
The CIFAR python batches are found in `data.data_dir`, the Keras cache, or downloaded.

Data: class c keeps the first n_c = int(5000 * IR^(-c/9)) images of a seeded permutation of
its class: IR 100 -> [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50] (12,406), IR 10
-> 20,431; the balanced 10,000-image test set. Augmentation: 4-pixel zero pad, random
32x32 crop, random flip; normalisation by the CIFAR mean / std.
Recipe: ResNet-32, SGD momentum 0.9, weight decay 2e-4 on every parameter (torch's SGD),
batch 128, 200 epochs, lr 0.1 with warm-up lr * e / 5 over 5 epochs, x0.01 from epoch 160
and x0.0001 from epoch 180. The decays and DRW are fractions of the run (0.8, 0.9: epochs 160
and 180 of 200, so a shorter run keeps their place); the warm-up stays 5 epochs, as the
paper gives it.

Variants (default "ce"): ce, focal (gamma 1), class_balanced (effective number, beta
0.9999), ldam_drw (LDAM s 30, max margin 0.5 on a cosine head; beta-0.9999 weights from
0.8 of the run, epoch 160, as torch's weighted mean), logit_adjusted (tau 1),
balanced_softmax, posthoc (CE training, argmax(z - log prior)), and the meta rules l2rw /
mwnet (virtual step at the model's current rate) on a clean balanced meta set of 10 images
a class taken before the cut (Shu et al.'s setting).

Published top-1 % (ResNet-32, REFERENCE.md), IR 100 / IR 10: CE 70.36 / 86.39, focal
70.38 / 86.66, class-balanced 74.57 / 87.49, L2RW 74.16 / 85.19, MW-Net 75.21 / 87.84,
LDAM-DRW 77.03 / 88.16, logit-adjusted 77.67 / -.
"""

from framework.config import base_config, with_variant

_CB = {"class_weights.scheme": "effective_number", "class_weights.kwargs": {"beta": 0.9999}}
_META_SET = {"data.val_per_class": 10}

VARIANTS = {
    "ce": {},
    "focal": {"loss.name": "focal", "loss.kwargs": {"gamma": 1.0, "alpha": 1.0}},
    "class_balanced": dict(_CB),
    "ldam_drw": {**_CB, "class_weights.start_epoch": 0.8, "class_weights.normalize": "weights",
                 "loss.name": "ldam", "loss.kwargs": {"max_margin": 0.5, "scale": 30.0},
                 "model.kwargs": {"head": "cosine"}},
    "logit_adjusted": {"loss.name": "logit_adjusted", "loss.kwargs": {"tau": 1.0}},
    "balanced_softmax": {"loss.name": "balanced_softmax"},
    "posthoc": {"eval.posthoc_tau": 1.0},
    # the virtual step at the model's scheduled rate, as the reference implementations take it
    "l2rw": {**_META_SET, "rule.name": "l2rw", "rule.kwargs": {"inner_lr": "model"}},
    "mwnet": {**_META_SET, "rule.name": "mwnet",
              "rule.kwargs": {"inner_lr": "model", "meta_lr": 1e-3, "weight_decay": 1e-4}},
}


def cifar_lt_config(source: str, variant=None):
  """The protocol and recipe on `source` ("cifar10" or "cifar100"), imbalance ratio 100."""
  c = base_config()
  c.data.source = source
  c.data.val_per_class = 0
  c.data.long_tail.profile = "exponential"
  c.data.long_tail.imbalance_ratio = 100.0
  c.data.augment = "crop_flip"
  c.data.crop_padding = 4
  c.model.name = "resnet32"
  c.optimizer.name = "sgd"
  c.optimizer.learning_rate = 0.1
  c.optimizer.kwargs = {"momentum": 0.9}
  c.optimizer.schedule = "step"
  c.optimizer.warmup_epochs = 5
  c.optimizer.decay_epochs = (0.8, 0.9)
  c.optimizer.decay_factors = (0.01, 0.0001)
  c.optimizer.weight_decay = 2e-4
  c.optimizer.weight_decay_mode = "l2_all"
  c.train.batch_size = 128
  c.train.val_batch_size = 100
  c.train.epochs = 200
  c.train.eval_every_epochs = 10
  return with_variant(c, VARIANTS, variant, default="ce")


def get_config(variant=None):
  return cifar_lt_config("cifar10", variant)
