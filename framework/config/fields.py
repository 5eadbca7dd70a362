"""Every config field, declared once: its default, what it may hold, and one line of doc.

`base_config()` is built from `FIELDS` (in this order, which is the order of a run's
config.json), `check_fields` validates a config against it, and the launcher's `--help`
prints each field's value with its doc and rule. A field whose values are the names of a
registry names that registry (`Registered`), so its list of choices lives in one place and
`--list` shows it. A new field is one more `Field` here.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, Collection

import ml_collections

from framework.config.checks import (BOOLEAN, EPOCH_OR_FRACTION, EPOCHS_OR_FRACTIONS, KWARGS,
                                     SHOT_THRESHOLDS, TAU, TEXT, Check, Registered, integer,
                                     number, one_of, sequence_of)


@dataclasses.dataclass(frozen=True)
class Field:
  """A config field: its default, its check (called as check(field, value)), its doc."""
  default: Any
  check: Check | Registered
  doc: str


FIELDS: dict[str, Field] = {
    "seed": Field(0, integer(0, most=2**32 - 1), "seed of the model's initialisation and the "
                  "input order (NumPy's seeds are 32-bit)"),
    "deterministic": Field(False, BOOLEAN, "deterministic TensorFlow ops "
                           "(tf.config.experimental.enable_op_determinism)"),
    "extra_modules": Field((), sequence_of(TEXT, "module names or .py paths"),
                           "the user's modules imported first (rules, losses, models, datasets); "
                           ".py paths: next to the experiment file, else the cwd"),
    # data: the sources, the protocol (framework.data.builder) and the input pipeline
    "data.source": Field("digits", Registered("framework.data:DATASETS"), "the dataset"),
    "data.data_dir": Field("", TEXT, "where idx / mnist.npz / CIFAR files are looked up first"),
    "data.path": Field("", TEXT, "npz / csv file, image folder, or list file of the training "
                       "pool"),
    "data.test_path": Field("", TEXT, "the same for the test split; '': a seeded stratified "
                            "split of the pool"),
    "data.image_root": Field("", TEXT, "list files: folder the listed paths are relative to "
                             "('': the list's)"),
    "data.skip_bad_images": Field(False, BOOLEAN, "image files: leave out (and name) files "
                                  "that do not decode instead of stopping on them"),
    "data.name": Field("", TEXT, "tfds: the TensorFlow Datasets name, e.g. cifar10"),
    "data.test_fraction": Field(0.25, number(above=0, below=1),
                                "test share for sources without a test split"),
    "data.label_column": Field("label", TEXT, "csv label column: names or integer class ids "
                               "(framework.data.labels)"),
    "data.class_names": Field((), sequence_of(TEXT, "label texts"), "csv: the label texts in "
                              "class-id order (empty: sorted names / the ids)"),
    "data.remap_labels": Field(True, BOOLEAN, "csv: integer labels that are not 0..C-1 -> "
                               "0..K-1 in sorted order (false: an error naming the missing ids)"),
    "data.importance_column": Field("", TEXT, "csv column / npz key with importance scores"),
    "data.feature_columns": Field((), sequence_of(TEXT, "column names"), "csv: exactly these "
                                  "feature columns (empty: all but the label, importance and "
                                  "dropped ones)"),
    "data.drop_columns": Field((), sequence_of(TEXT, "column names"), "csv: columns that are "
                               "never features (an id, a timestamp)"),
    "data.categorical_columns": Field((), sequence_of(TEXT, "column names"), "csv: columns "
                                      "one-hot encoded even when they hold numbers (integer "
                                      "codes); text columns always are"),
    "data.num_classes": Field(0, integer(0), "0: inferred (max label + 1); else labels lie in "
                              "[0, num_classes)"),
    "data.num_samples": Field(2000, integer(0), "synthetic: number of examples"),
    "data.num_features": Field(16, integer(0), "synthetic: features per example"),
    "data.synthetic_classes": Field(4, integer(0), "synthetic: number of classes"),
    "data.train_size": Field(0, integer(0), "0: the whole pool after the validation split; "
                             "else its first train_size examples"),
    "data.val_per_class": Field(0, integer(0), "clean balanced validation split, taken first "
                                "(meta rules, eval.select_best)"),
    "data.val_fraction": Field(0.0, number(at_least=0, below=1), "clean stratified "
                               "validation split: this share of each class (at least 1, never "
                               "all), taken first (train.early_stopping); 0: off"),
    "data.long_tail.profile": Field("none", Registered("framework.data:LONG_TAIL"),
                                    "shape of the long tail made from the pool"),
    "data.long_tail.imbalance_ratio": Field(1.0, number(at_least=1),
                                            "largest / smallest class size of the long tail"),
    "data.noise.kind": Field("none", Registered("framework.data:NOISE"),
                             "label noise added to the training split"),
    "data.noise.rate": Field(0.0, number(at_least=0, below=1), "share of labels corrupted"),
    "data.leave_out.file": Field("", TEXT, "training examples to leave out: a csv with an "
                                 "`index` column (a label-issues csv) or one index per line; "
                                 "{seed} is replaced by data.seed"),
    "data.leave_out.count": Field(0, integer(0), "leave out the first count rows of "
                                  "data.leave_out.file (0: every row)"),
    "data.folds.count": Field(0, Check(lambda v: integer(0).accepts(v) and v != 1,
                                       "0 (off) or an integer >= 2"),
                              "cross-validation: the training split cut into this many folds"),
    "data.folds.held_out": Field(0, integer(0), "the fold left out of training (< "
                                 "data.folds.count)"),
    "data.seed": Field(0, integer(0), "seed of the split, the long tail and the noise"),
    "data.image_size": Field(0, integer(0), "images: side the model sees (0: the images' own "
                             "size; files: 224)"),
    "data.augment": Field("none", Registered("framework.data.augment:AUGMENTATIONS"),
                          "training augmentation of images"),
    "data.crop_padding": Field(4, integer(0), "crop_flip, reflect_crop_flip: padding before the "
                            "random crop"),
    "data.mean": Field((), sequence_of(number(), "numbers"), "per-channel mean of pixels in "
                       "[0, 1] (empty: the source's default, else 0)"),
    "data.std": Field((), sequence_of(number(), "numbers"),
                      "per-channel std (empty: the source's default, else 1)"),
    "data.sampler": Field("instance", Registered("framework.data.samplers:SAMPLERS"),
                          "class-aware re-sampling of the training stream"),
    "data.drop_remainder": Field(True, BOOLEAN, "the last partial batch of an epoch is "
                                 "dropped (true) or trained padded and masked, as PyTorch's "
                                 "DataLoader does (false)"),
    "data.mix.name": Field("none", Registered("framework.data.mixing:MIXERS"),
                           "mixed training examples: mixup, cutmix, remix "
                           "(framework.data.mixing)"),
    "data.mix.kwargs": Field({}, KWARGS, "the mixing's keyword arguments (alpha; remix: "
                             "kappa, tau, cutmix)"),
    # the components
    "model.name": Field("mlp", Registered("framework.models:MODELS"), "the model"),
    "model.kwargs": Field({}, KWARGS, "the model's keyword arguments"),
    "model.bias_init": Field("zeros", one_of("zeros", "prior"), "the classifier's bias: zeros, "
                             "or the class prior (log prior for softmax, -log((1-p)/p) for "
                             "sigmoid losses)"),
    "model.init_from": Field("", TEXT, "a finished run's workdir: start from its final weights"),
    "model.retrain": Field("all", one_of("all", "head", "tune_head", "tune_head_shift_bn"),
                           "with model.init_from, train the classifier only: head "
                           "re-initialised (cRT), tune_head from its values, "
                           "tune_head_shift_bn also batch norm's statistics (MiSLAS)"),
    "model.max_norm": Field(0.0, number(at_least=0, below=1),
                            "MaxNorm on the classifier's per-class weights (weight "
                            "balancing): radius min + t (max - min) of the starting norms; "
                            "0: off"),
    "loss.name": Field("cross_entropy", Registered("framework.losses:LOSSES"), "the loss"),
    "loss.kwargs": Field({}, KWARGS, "the loss's keyword arguments"),
    "class_weights.scheme": Field("none", Registered("framework.losses:CLASS_WEIGHTS"),
                                  "per-class loss weights"),
    "class_weights.kwargs": Field({}, KWARGS, "the scheme's keyword arguments"),
    "class_weights.start_epoch": Field(0, EPOCH_OR_FRACTION, "deferred re-weighting: weights "
                                       "of one before this epoch (0.8: 80% into the run)"),
    "class_weights.normalize": Field("batch", one_of("batch", "weights"), "batch: sum w l / B; "
                                     "weights: sum w l / sum w (torch's weight=)"),
    "rule.name": Field("fixed", Registered("framework.weights:RULES"),
                       "the rule that updates per-sample weights"),
    "rule.kwargs": Field({}, KWARGS, "the rule's keyword arguments"),
    "optimizer.name": Field("adam", Registered("framework.train.optimizers:OPTIMIZERS"),
                            "the Keras optimizer"),
    "optimizer.learning_rate": Field(1e-3, number(above=0), "base learning rate"),
    "optimizer.schedule": Field("constant", Registered("framework.train.optimizers:SCHEDULES"),
                                "learning-rate schedule, in epochs, evaluated per step"),
    "optimizer.decay_epochs": Field((), EPOCHS_OR_FRACTIONS, "step schedule: 0-based epochs "
                                    "at which the rate drops ((0.8, 0.9): 80% and 90% into "
                                    "the run)"),
    "optimizer.decay_factors": Field((), sequence_of(number(above=0), "multipliers > 0"),
                                     "the base rate's multiplier after each decay epoch "
                                     "(empty: 0.1 ** k after the k-th)"),
    "optimizer.warmup_epochs": Field(0, EPOCH_OR_FRACTION, "linear warm-up: base * (epoch + "
                                     "1) / warmup_epochs"),
    "optimizer.weight_decay": Field(0.0, number(at_least=0), "weight decay coefficient"),
    "optimizer.weight_decay_mode": Field(
        "l2", one_of("l2", "l2_all", "decoupled"), "l2: 0.5 * wd * |kernels|^2 in the loss; "
        "l2_all: every trainable variable (torch's SGD); decoupled: the optimizer's"),
    "optimizer.kwargs": Field({}, KWARGS, "the Keras optimizer's keyword arguments (momentum, "
                              "nesterov, ...)"),
    # the training loop
    "train.batch_size": Field(128, integer(1), "global batch, split over replicas"),
    "train.val_batch_size": Field(100, integer(1), "clean validation batch per step (meta "
                                  "rules)"),
    "train.epochs": Field(10, integer(1), "epochs to train"),
    "train.steps_per_loop": Field(0, integer(0), "steps per compiled call; 0: one epoch"),
    "train.eval_every_epochs": Field(1, integer(1), "evaluate on the test split every n epochs"),
    "train.early_stopping.metric": Field("", one_of("", "accuracy", "balanced_accuracy",
                                                    "macro_f1", "min_recall"),
                                         "stop when this metric on the clean validation split "
                                         "has not improved for `patience` epochs ('': off)"),
    "train.early_stopping.patience": Field(10, integer(1), "epochs without improvement "
                                           "before stopping (validation is measured at each "
                                           "test evaluation)"),
    "train.early_stopping.restore_best": Field(True, BOOLEAN, "end with the weights of the "
                                               "best validation epoch (stopped or not)"),
    "train.early_stopping.lr_factor": Field(1.0, number(above=0, at_most=1), "multiply the "
                                            "learning rate by this after `lr_patience` epochs "
                                            "without improvement (1: never)"),
    "train.early_stopping.lr_patience": Field(10, integer(1), "epochs without improvement "
                                              "(or since the last reduction) before the "
                                              "learning rate is reduced"),
    "train.checkpoint_every_loops": Field(1, integer(1), "checkpoint every n loops"),
    "train.max_checkpoints": Field(3, integer(1), "checkpoints kept"),
    "train.jit_compile": Field("auto", one_of("auto", "on", "off"), "XLA for the forward / "
                               "backward pass (auto: on GPU only)"),
    "train.on_nonfinite": Field("stop", one_of("stop", "skip", "off"), "at a NaN / inf loss or "
                                "gradient: stop the run, skip the step, or off (no check)"),
    "train.max_skipped": Field(10, integer(1), "skip: stop after this many non-finite steps in "
                               "a row"),
    # evaluation
    "eval.batch_size": Field(1000, integer(1), "evaluation batch"),
    "eval.posthoc_tau": Field(0.0, number(at_least=0), "> 0: also report post-hoc logit "
                              "adjustment by tau * log prior"),
    "eval.select_best": Field("", one_of("", "accuracy", "balanced_accuracy", "macro_f1",
                                         "min_recall"),
                              "keep the model best on the clean validation split by this "
                              "metric as best.keras ('': off)"),
    "eval.tau_norm": Field("", TAU, "tau-normalised classifier: '' off, 'auto' (tau chosen on "
                           "validation) or tau"),
    "eval.positive_class": Field(-1, integer(-1, "-1 (the minority class by training counts) "
                                             "or a class id >= 0"),
                                 "binary PR-AUC / ROC-AUC / positive F1 are for this class"),
    "eval.shot_thresholds": Field((), SHOT_THRESHOLDS, "many / few-shot classes have more than "
                                  "many / fewer than few training examples; (): the field's "
                                  "(100, 20), moved to the counts' range if a group is empty"),
    # what is written while training
    "logging.summary_every_loops": Field(1, integer(0), "weight / trajectory summaries every n "
                                         "loops; 0: never"),
    "logging.tracked_per_class": Field(3, integer(0), "samples per class whose weight "
                                       "trajectory is written"),
    "logging.tracked_noisy": Field(20, integer(0), "at most this many label-corrupted samples "
                                   "tracked too"),
    "logging.tracked_indices": Field((), sequence_of(integer(0), "sample indices >= 0"),
                                     "explicit sample indices to track"),
    "logging.heatmap_max_columns": Field(256, integer(1), "trajectory heatmap keeps this many "
                                         "summary steps at most"),
    "logging.max_class_runs": Field(0, integer(0), "also one TensorBoard run per class (a "
                                    "colour per class) up to this many classes; 0: none"),
    "logging.snapshot_every_epochs": Field(1, integer(0), "weight snapshots (NumPy) every n "
                                           "epochs; 0: only the final one"),
    # where it runs
    "strategy.name": Field("default", Registered("framework.train.distribute:STRATEGIES"),
                           "the tf.distribute strategy"),
    "strategy.cpu_devices": Field(0, integer(0), "> 1: split the CPU into that many logical "
                                  "devices"),
    "strategy.tpu": Field("", TEXT, "tpu: the TPU's name or address"),
    "precision": Field("float32", one_of("float32", "mixed_float16", "mixed_bfloat16"),
                       "Keras dtype policy"),
    "variant": Field("", TEXT, "set by experiments from the :variant of --config"),
}


def defaults(section: str = "") -> ml_collections.ConfigDict:
  """A new ConfigDict of the fields under `section` ("" for all, "data" for config.data)
  with their defaults, nested by the dots of their names."""
  prefix = f"{section}." if section else ""
  tree: dict[str, Any] = {}
  for dotted, field in FIELDS.items():
    if dotted.startswith(prefix):
      *path, leaf = dotted[len(prefix):].split(".")
      node = tree
      for key in path:
        node = node.setdefault(key, {})
      value = copy.deepcopy(field.default)
      if getattr(field.check, "untyped", False):  # an int or a float: ConfigDict keeps either
        value = ml_collections.FieldReference(value, field_type=object)
      node[leaf] = value
  return ml_collections.ConfigDict(tree)


def check_fields(config: Any, section: str = "", skip: Collection[str] = ()) -> None:
  """Checks every declared field under `section` ("" for all) of `config`, which holds that
  section; fields named in `skip` (a component given as an object names none) and fields
  `config` lacks are left out."""
  prefix = f"{section}." if section else ""
  for dotted, field in FIELDS.items():
    if not dotted.startswith(prefix) or dotted in skip:
      continue
    node = config
    try:
      for key in dotted[len(prefix):].split("."):
        node = node[key]
    except (KeyError, AttributeError):
      continue
    field.check(dotted, node)
