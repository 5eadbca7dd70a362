"""Keras optimizers and learning-rate schedules by name."""

from __future__ import annotations

import keras

from framework.errors import ConfigError

_OPTIMIZERS = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
               "sgd": keras.optimizers.SGD}
_SCHEDULES = ("constant", "cosine", "step")


def build_optimizer(cfg, steps_per_epoch: int, total_steps: int,
                    precision: str = "float32") -> keras.optimizers.Optimizer:
  """The optimizer of `cfg` (name, learning_rate, schedule, decay_epochs, kwargs)."""
  if cfg.name not in _OPTIMIZERS:
    raise ConfigError(f"optimizer.name={cfg.name!r} is not a known optimizer; "
                      f"known: {', '.join(sorted(_OPTIMIZERS))}")
  if not cfg.learning_rate > 0:
    raise ConfigError(f"optimizer.learning_rate={cfg.learning_rate} must be > 0")
  if cfg.schedule not in _SCHEDULES:
    raise ConfigError(f"optimizer.schedule={cfg.schedule!r} is not known; "
                      f"known: {', '.join(_SCHEDULES)}")
  lr = cfg.learning_rate
  if cfg.schedule == "cosine":
    lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(total_steps, 1))
  elif cfg.schedule == "step":
    boundaries = [int(e * steps_per_epoch) for e in cfg.decay_epochs]
    lr = keras.optimizers.schedules.PiecewiseConstantDecay(
        boundaries, [lr * 0.1 ** i for i in range(len(boundaries) + 1)])
  try:
    optimizer = _OPTIMIZERS[cfg.name](learning_rate=lr, **dict(cfg.kwargs))
  except (TypeError, ValueError) as e:
    raise ConfigError(f"optimizer.kwargs={dict(cfg.kwargs)} rejected by {cfg.name}: "
                      f"{str(e).splitlines()[0]}") from None
  if precision == "mixed_float16":
    optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
  return optimizer


def current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
  return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
