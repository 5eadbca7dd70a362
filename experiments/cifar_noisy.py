r"""Noisy CIFAR: 40% uniform label noise, a clean meta set, WRN-28-10 (the L2RW / MW-Net setting).

  python launch.py --config=experiments/cifar_noisy.py:mwnet --workdir=runs/c10n40/mwnet
  python launch.py --config=experiments/cifar_noisy.py:mwnet --workdir=runs/c100n40/mwnet \
      --config.data.source=cifar100 --config.data.val_per_class=10

NEEDS A GPU: 40 epochs of WRN-28-10 (36.5 M parameters). Not run here (no GPU, no
network); only short smoke runs on generated CIFAR files were.

Data: 1,000 clean images (100 a class on CIFAR-10, 10 on CIFAR-100) form the meta /
validation set; each remaining training label is, with probability 0.4, replaced by one
drawn uniformly from all classes (Shu et al.'s uniform noise: about 36% end up wrong; the
mask is saved); the balanced test set. Augmentation: pad 4, crop, flip; CIFAR mean / std.
Recipe: WRN-28-10, SGD momentum 0.9 (Nesterov), weight decay 5e-4, batch 100, lr 0.1
divided by 10 at 0.9 and 0.95 of the run (epochs 36 and 38 of 40).

Variants (default "ce"): ce; l2rw and mwnet (V 1-100-1, Adam 1e-3, wd 1e-4), their virtual
step at the model's current rate; data_parameters (the CIFAR-100-noisy preset of Saxena
et al.); dividemix_li (DivideMix, Li et al. 2020, their CIFAR-10 recipe at 50% symmetric
noise, no clean meta set: PreAct-ResNet-18 x 2, 300 epochs).

Published top-1 % at 40% (REFERENCE.md): CIFAR-10 CE 68.07, L2RW 86.92, MW-Net 89.27;
CIFAR-100 CE 51.11, L2RW ~61, MW-Net 67.73; data parameters on CIFAR-100 50.0 -> 71. The
baselines depend on late-epoch overfitting, so compare final, not best, accuracy.
DivideMix at 50% symmetric noise (their Table 1): CIFAR-10 best 94.6, last 94.4.
"""

from framework.config import base_config, with_variant

VARIANTS = {
    "ce": {},
    # the virtual step at the model's scheduled rate, as the reference implementations take it
    "l2rw": {"rule.name": "l2rw", "rule.kwargs": {"inner_lr": "model"}},
    "mwnet": {"rule.name": "mwnet",
              "rule.kwargs": {"inner_lr": "model", "meta_lr": 1e-3, "weight_decay": 1e-4}},
    "data_parameters": {"rule.name": "data_parameters",
                        "rule.kwargs": {"preset": "cifar100_noisy"}},
    # Li et al.'s CIFAR-10 recipe at 50% symmetric noise, from their Train_cifar.py: all
    # 50,000 images, two PreAct-ResNet-18, PyTorch SGD lr 0.02 momentum 0.9 wd 5e-4, 300
    # epochs, lr / 10 from epoch 150, 128 examples a step (their 64 labelled + 64
    # unlabelled; 128 in the warm-up); warm-up 10 epochs (30 on CIFAR-100), lambda_u 25
    # (0 at 20% noise, 150 at 80%)
    "dividemix_li": {"rule.name": "dividemix", "rule.kwargs": {"warm_up": 10, "lambda_u": 25.0},
                     "data.val_per_class": 0, "data.noise.rate": 0.5,
                     "model.name": "preact_resnet18", "model.kwargs": {},
                     "optimizer.name": "torch_sgd", "optimizer.learning_rate": 0.02,
                     "optimizer.kwargs": {"momentum": 0.9, "coupled_weight_decay": 5e-4},
                     "optimizer.decay_epochs": (0.5,), "optimizer.weight_decay": 0.0,
                     "train.batch_size": 128, "train.epochs": 300,
                     "train.eval_every_epochs": 5},
}


def get_config(variant=None):
  c = base_config()
  c.data.source = "cifar10"
  c.data.val_per_class = 100
  c.data.noise.kind = "symmetric"
  c.data.noise.rate = 0.4
  c.data.augment = "crop_flip"
  c.model.name = "wrn"
  c.model.kwargs = {"depth": 28, "width": 10}
  c.optimizer.name = "sgd"
  c.optimizer.learning_rate = 0.1
  c.optimizer.kwargs = {"momentum": 0.9, "nesterov": True}
  c.optimizer.schedule = "step"
  c.optimizer.decay_epochs = (0.9, 0.95)
  c.optimizer.weight_decay = 5e-4
  c.train.batch_size = 100
  c.train.val_batch_size = 100
  c.train.epochs = 40
  c.train.eval_every_epochs = 2
  return with_variant(c, VARIANTS, variant, default="ce")
