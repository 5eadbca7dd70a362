r"""Fashion-MNIST-LT: the project's long-tailed protocol (CPU scale), one variant per method.

  python launch.py --config=experiments/fmnist_lt.py:ce --workdir=/tmp/lt_runs/ce
  python -m framework.sweeps.run --sweep=fmnist_lt_table --root=/tmp/lt_runs   # every variant
  python -m framework.studies.lt_table --root=/tmp/lt_runs   # the table

Data: the 60,000 Fashion-MNIST training images cut to an exponential long tail of imbalance
ratio 100, n_c = floor(6000 * 0.01^(c/9)) = [6000, 3596, 2156, 1292, 774, 464, 278, 166,
100, 60] (14,886 images, the first n_c of a seeded permutation of each class); no
validation split; test on the full balanced 10,000-image test set, so accuracy equals
balanced accuracy. Model: small CNN (conv 16, conv 32, dense 64), Adam 1e-3, batch 128,
10 epochs (116 steps an epoch, the last partial batch dropped). Report balanced accuracy,
macro-F1 and min recall (the `posthoc` variant reports the `posthoc/` entries of the
results).

Variants (default "ce"): ce, focal (gamma 2, alpha 1), inverse_frequency, class_balanced
(effective number, beta 0.9999: at these counts its weights span 75x against inverse
frequency's 100x, so the two differ only mildly), cb_softmax_focal (class-balanced
softmax focal), cb_sigmoid_focal (Cui et al.'s form: sigmoid focal summed over classes),
ldam_drw (LDAM on a cosine head, s 30, max margin 0.5, class-balanced weights from 0.8 of
the run, the paper's 160 of 200: epoch 8 of 10, 16 of 20; the paper uses SGD with momentum,
here Adam 1e-3 like every other variant), logit_adjusted (tau 1), posthoc (CE training,
prediction argmax(z - log prior)), balanced_softmax, the samplers (class_balanced_sampler,
sqrt_sampler, progressive_sampler), crt (classifier re-training of a finished ce run) and
tau_norm (the ce model's classifier rescaled, tau chosen on a validation split).

Expected (seeds 0-2, 20-50 s a run on a shared 2-core CPU; balanced accuracy, mean ± std):
CE 82.3 ± 1.3 with min recall 19 (usually "Shirt"); focal 82.0; inverse frequency 84.8;
class-balanced 85.0; logit-adjusted 85.9; post-hoc 85.9; balanced softmax 85.8; LDAM-DRW
86.8 ± 0.4 with min recall 54. The full table is in the README ("Long-tailed Fashion-MNIST").
"""

from framework.config import base_config, with_variant

_CB = {"class_weights.scheme": "effective_number", "class_weights.kwargs": {"beta": 0.9999}}

VARIANTS = {
    "ce": {},
    "focal": {"loss.name": "focal", "loss.kwargs": {"gamma": 2.0, "alpha": 1.0}},
    "inverse_frequency": {"class_weights.scheme": "inverse_frequency"},
    "class_balanced": dict(_CB),
    # class-balanced SOFTMAX focal loss (not Cui et al.'s form, which is cb_sigmoid_focal)
    "cb_softmax_focal": {**_CB, "loss.name": "focal",
                         "loss.kwargs": {"gamma": 2.0, "alpha": 1.0}},
    # Cui et al.'s reference form: sigmoid focal summed over classes, class-balanced weights
    "cb_sigmoid_focal": {**_CB, "loss.name": "sigmoid_focal", "loss.kwargs": {"gamma": 2.0}},
    "ldam_drw": {**_CB, "class_weights.start_epoch": 0.8,
                 "loss.name": "ldam", "loss.kwargs": {"max_margin": 0.5, "scale": 30.0},
                 "model.kwargs": {"filters": (16, 32), "dense": 64, "head": "cosine"}},
    "logit_adjusted": {"loss.name": "logit_adjusted", "loss.kwargs": {"tau": 1.0}},
    "posthoc": {"eval.posthoc_tau": 1.0},
    "balanced_softmax": {"loss.name": "balanced_softmax"},
    # beta 0.999: weights span 17x instead of 75x, a class-balanced scheme that really
    # differs from inverse frequency (100x) at these counts.
    "class_balanced_beta0999": {"class_weights.scheme": "effective_number",
                                "class_weights.kwargs": {"beta": 0.999}},
    # Focal loss with per-class alpha meta-learned on a clean balanced validation split of
    # 20 images a class, taken from the pool before the long-tail cut (see the note on
    # counts in the README: the tail is then cut from 5,980 a class, not 6,000).
    "meta_alpha_focal": {"loss.name": "focal", "loss.kwargs": {"gamma": 2.0, "alpha": 1.0},
                         "rule.name": "meta_alpha", "data.val_per_class": 20},
    # Re-sampling (Kang et al. 2020): class j drawn with probability n_j^q / sum n^q.
    "class_balanced_sampler": {"data.sampler": "class_balanced"},
    "sqrt_sampler": {"data.sampler": "sqrt"},
    "progressive_sampler": {"data.sampler": "progressive"},
    # Decoupled: cRT re-trains only the classifier of a finished `ce` run (set
    # model.init_from to its workdir; the study does) with class-balanced sampling;
    # tau-norm rescales the ce model's classifier, tau chosen on 20 clean images a class
    # taken before the long-tail cut (as meta_alpha_focal's).
    "crt": {"model.retrain": "head", "data.sampler": "class_balanced"},
    "tau_norm": {"eval.tau_norm": "auto", "data.val_per_class": 20},
    # Mixed examples (framework.data.mixing): mixup with alpha 1 (MiSLAS's first stage);
    # Remix's labels (kappa 3, tau 0.5) on mixup's images.
    "mixup": {"data.mix.name": "mixup", "data.mix.kwargs": {"alpha": 1.0}},
    "remix": {"data.mix.name": "remix", "data.mix.kwargs": {"alpha": 1.0}},
    # Weight balancing (Alshammari et al. 2022): CE with a large (decoupled) weight decay,
    # then the classifier fine-tuned as their second stage does it (ShadeAlsha/
    # LTR-weight-balancing `demo2_second-stage-training.py`): SGD lr 0.01 momentum 0.9,
    # weight decay 0.1, cosine over 10 epochs, class-balanced (beta 0.9999) binary
    # cross-entropy of the softmax, MaxNorm at 0.1.
    "wb_stage1": {"optimizer.weight_decay": 0.05, "optimizer.weight_decay_mode": "decoupled"},
    "wb": {"model.retrain": "tune_head", "model.max_norm": 0.1, "loss.name": "softmax_bce",
           **_CB, "optimizer.name": "torch_sgd", "optimizer.learning_rate": 0.01,
           "optimizer.kwargs": {"momentum": 0.9}, "optimizer.schedule": "cosine",
           "optimizer.weight_decay": 0.1, "optimizer.weight_decay_mode": "l2_all"},
    # MiSLAS (Zhong et al. 2021): the mixup run's classifier fine-tuned as their CIFAR-10
    # second stage does it (dvlab-research/MiSLAS `train_stage2.py`, cifar10 stage-2
    # config): class-balanced sampling, label-aware smoothing (concave, head 0.3, tail 0),
    # SGD momentum 0.9, the classifier's lr 0.5 x 0.1, weight decay 2e-4, cosine over 10
    # epochs. Their learnable weight scaling of the logits is not modelled; the small CNN
    # has no batch norm to shift (their CIFAR configs do not shift it either).
    "mislas": {"model.retrain": "tune_head", "data.sampler": "class_balanced",
               "loss.name": "label_aware_smoothing",
               "loss.kwargs": {"smooth_head": 0.3, "smooth_tail": 0.0},
               "optimizer.name": "torch_sgd", "optimizer.learning_rate": 0.05,
               "optimizer.kwargs": {"momentum": 0.9}, "optimizer.schedule": "cosine",
               "optimizer.weight_decay": 2e-4, "optimizer.weight_decay_mode": "l2_all"},
}

# Second stages: the variant whose finished run (same seed) a variant starts from, set
# as model.init_from by the sweeps (experiments/sweeps/fmnist_lt_table.py).
STARTS_FROM = {"crt": "ce", "wb": "wb_stage1", "mislas": "mixup"}


def get_config(variant=None):
  c = base_config()
  c.data.source = "fashion_mnist"
  c.data.val_per_class = 0
  c.data.long_tail.profile = "exponential"
  c.data.long_tail.imbalance_ratio = 100.0
  c.model.name = "small_cnn"
  c.model.kwargs = {"filters": (16, 32), "dense": 64}
  c.optimizer.name = "adam"
  c.optimizer.learning_rate = 1e-3
  c.optimizer.schedule = "constant"
  c.train.batch_size = 128
  c.train.epochs = 10
  c.train.eval_every_epochs = 5
  return with_variant(c, VARIANTS, variant, default="ce")
