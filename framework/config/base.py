"""The base experiment config: every field an experiment may set, with its default.

Experiments in `experiments/` start from `base_config()` and change what they need;
`--config.a.b=value` on the command line overrides any field. A field not listed here
is rejected, so a typo never silently does nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import types

import ml_collections

from framework.data.defaults import default_data_config


def base_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.deterministic = False        # tf.config.experimental.enable_op_determinism()
  c.extra_modules = ()           # user modules imported first (rules, losses, models, datasets);
                                 # .py paths: next to the experiment file, else the cwd
  c.data = default_data_config()
  c.model = ml_collections.ConfigDict({
      "name": "mlp", "kwargs": {},
      "init_from": "",           # a finished run's workdir: start from its final weights
      "retrain": "all",          # all | head: re-initialise and train the classifier only (cRT)
  })
  c.loss = ml_collections.ConfigDict({"name": "cross_entropy", "kwargs": {}})
  c.class_weights = ml_collections.ConfigDict({
      "scheme": "none", "kwargs": {},
      "start_epoch": 0,          # deferred re-weighting: ones before this epoch
      "normalize": "batch",      # batch: sum w l / B | weights: sum w l / sum w (torch's weight=)
  })
  c.rule = ml_collections.ConfigDict({"name": "fixed", "kwargs": {}})
  c.optimizer = ml_collections.ConfigDict({
      "name": "adam",            # adam | adamw | sgd
      "learning_rate": 1e-3,
      "schedule": "constant",    # constant | cosine | step (all per step, in epochs)
      "decay_epochs": (),        # step schedule: 0-based epochs at which the rate drops
      "decay_factors": (),       # () = 0.1 ** k after the k-th decay epoch; else the base
                                 # rate's multiplier after each (LDAM-DRW: (0.01, 0.0001))
      "warmup_epochs": 0,        # linear warm-up: base * (epoch + 1) / warmup_epochs
      "weight_decay": 0.0,
      "weight_decay_mode": "l2",  # l2: 0.5 * wd * |kernels|^2 in the loss | l2_all: every
                                  # trainable variable (torch's SGD) | decoupled: the optimizer's
      "kwargs": {},              # passed to the Keras optimizer (momentum, nesterov, ...)
  })
  c.train = ml_collections.ConfigDict({
      "batch_size": 128,         # global batch, split over replicas
      "val_batch_size": 100,     # clean validation batch per step (meta rules)
      "epochs": 10,
      "steps_per_loop": 0,       # steps per compiled call; 0 = one epoch
      "eval_every_epochs": 1,
      "checkpoint_every_loops": 1,
      "max_checkpoints": 3,
      "jit_compile": "auto",     # XLA for the forward / backward pass: auto (GPU only) | on | off
      "on_nonfinite": "stop",    # stop: end the run at a NaN / inf loss or gradient | skip
      "max_skipped": 10,         # skip: stop after this many non-finite steps in a row
  })
  c.eval = ml_collections.ConfigDict({
      "batch_size": 1000,
      "posthoc_tau": 0.0,        # > 0: also report post-hoc logit adjustment by tau * log prior
      "select_best": "",         # a metric (balanced_accuracy, ...): keep the model best on the
                                 # clean validation split as best.keras ("": off)
      "tau_norm": "",            # tau-normalised classifier: "" off, "auto" (on validation), "0.5"
      "positive_class": -1,      # binary PR-AUC / ROC-AUC / positive F1 are for this class id;
                                 # -1: the minority class by training counts
  })
  c.logging = ml_collections.ConfigDict({
      "summary_every_loops": 1,  # weight / trajectory summaries every n loops; 0 = never
      "tracked_per_class": 3,    # samples per class whose weight trajectory is written
      "tracked_noisy": 20,       # at most this many label-corrupted samples tracked too
      "tracked_indices": (),     # explicit sample indices to track
      "heatmap_max_columns": 256,  # trajectory heatmap keeps this many summary steps at most
      "max_class_runs": 20,      # one TensorBoard run per class up to this many classes
      "snapshot_every_epochs": 1,  # weight snapshots (NumPy); 0 = only the final one
  })
  c.strategy = ml_collections.ConfigDict({
      "name": "default",         # default | one_device | mirrored | multi_worker | tpu
      "cpu_devices": 0,          # > 1: split the CPU into that many logical devices
      "tpu": "",
  })
  c.precision = "float32"        # float32 | mixed_float16 | mixed_bfloat16
  c.variant = ""                 # set by experiments from the :variant of --config
  return c


def with_variant(config: ml_collections.ConfigDict, variants: dict[str, dict],
                 variant: str | None, default: str) -> ml_collections.ConfigDict:
  """Applies a named variant: a dict of dotted field -> value overrides of `config`."""
  from framework.errors import ConfigError  # pylint: disable=g-import-not-at-top
  name = variant or default
  if name not in variants:
    raise ConfigError(f"config variant {name!r} is not known; known: {', '.join(variants)}")
  for dotted, value in variants[name].items():
    try:
      set_field(config, dotted, value)
    except KeyError:
      raise ConfigError(f"variant {name!r} sets unknown field {dotted!r}") from None
  config.variant = name
  return config


def set_fields(config: ml_collections.ConfigDict, fields: dict) -> None:
  """`set_field` for keyword-style paths: {"train__epochs": 3} sets train.epochs."""
  for path, value in fields.items():
    set_field(config, path.replace("__", "."), value)


def set_field(config: ml_collections.ConfigDict, dotted: str, value) -> None:
  """Sets the existing field `dotted` ("a.b.c") of `config`; KeyError when there is none."""
  *path, field = dotted.split(".")
  node = config
  for key in path:
    node = node[key]
  if field not in node:
    raise KeyError(f"config has no field {dotted!r}")
  node[field] = value


def load_experiment(spec: str) -> types.ModuleType:
  """The experiment module (get_config, VARIANTS) of `spec`: a path to a config file, or
  the name of one shipped in `framework.experiments` ('fmnist_lt')."""
  if spec.endswith(".py") or os.sep in spec:
    name = os.path.splitext(os.path.basename(spec))[0]
    loader_spec = importlib.util.spec_from_file_location(f"experiment_{name}", spec)
    module = importlib.util.module_from_spec(loader_spec)
    loader_spec.loader.exec_module(module)
    return module
  return importlib.import_module(f"framework.experiments.{spec}")


def resolve_extra_modules(modules, experiment_file: str) -> tuple[str, ...]:
  """`extra_modules` with each relative .py path made absolute: found next to the experiment
  file first, then in the current directory. Module names, and paths found in neither place
  (the import then names them as given), are unchanged."""
  bases = (os.path.dirname(os.path.abspath(experiment_file)), os.getcwd())
  resolved = []
  for name in modules:
    if name.endswith(".py") and not os.path.isabs(name):
      found = [os.path.join(base, name) for base in bases
               if os.path.isfile(os.path.join(base, name))]
      name = os.path.normpath(found[0]) if found else name
    resolved.append(name)
  return tuple(resolved)


def choose_variants(module: types.ModuleType, requested) -> list[str]:
  """The requested variants of an experiment module (all when none), checked by name."""
  from framework.errors import ConfigError  # pylint: disable=g-import-not-at-top
  variants = list(requested) or list(module.VARIANTS)
  unknown = [v for v in variants if v not in module.VARIANTS]
  if unknown:
    raise ConfigError(f"--variants={','.join(unknown)} not known; "
                      f"known: {', '.join(module.VARIANTS)}")
  return variants
