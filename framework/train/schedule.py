"""A run's schedule in epochs: the fields that name epochs, resolved for the run's length.

`class_weights.start_epoch` (deferred re-weighting, DRW), `optimizer.warmup_epochs` and
`optimizer.decay_epochs` each take an epoch (an integer >= 0; 16.0 is epoch 16 too) or a
fraction of the run (a float in (0, 1)), so that a recipe the papers give relative to their
run ("DRW at 160 of 200 epochs" = 0.8) follows `train.epochs`. A fraction f of E epochs is
the 0-based epoch nearest to f * E, halves rounding up, computed in decimal from the
fraction as written: 0.8 and 0.9 of 200 are 160 and 180, 0.9 and 0.95 of 40 are 36 and 38,
0.8 of 10 is 8, of 20 16 and of 15 12; 0.5 of 15 is 8, and 0.58 of 25 (14.5) is 15, though
0.58 * 25 is 14.499999999999998 in binary floating point.

`resolve_schedule` is the one place fractions become epochs: the optimizer, the class
weighting (and through it the effective weights and summaries) take its result, which
results.json records under "schedule". A run whose schedule is laid out over its length
cannot change that length on a relaunch (`laid_out_over_the_run`).
"""

from __future__ import annotations

import decimal
from typing import Any

import ml_collections

from framework.config.checks import is_fraction
from framework.train.optimizers import multipliers_after_decays

SCHEDULE_FIELDS = ("optimizer.warmup_epochs", "optimizer.decay_epochs",
                   "class_weights.start_epoch")


def epoch_of(value: float, epochs: int) -> int:
  """The 0-based epoch that `value` (an epoch or a fraction of the run) names in a run of
  `epochs` epochs."""
  if not is_fraction(value):
    return int(value)
  exact = decimal.Decimal(repr(value)) * epochs
  return int(exact.to_integral_value(rounding=decimal.ROUND_HALF_UP))


def resolve_schedule(config: ml_collections.ConfigDict, steps_per_epoch: int) -> dict[str, Any]:
  """The schedule of `config` for its `train.epochs` of `steps_per_epoch` steps: lengths,
  warm-up, the rate's schedule and decays (epoch and base-rate multiplier each) and the
  epoch from which class weights apply."""
  epochs, optimizer = config.train.epochs, config.optimizer
  decay_epochs = [epoch_of(e, epochs) for e in optimizer.decay_epochs]
  return {"epochs": epochs, "steps_per_epoch": steps_per_epoch,
          "total_steps": epochs * steps_per_epoch,
          "warmup_epochs": epoch_of(optimizer.warmup_epochs, epochs),
          "lr_schedule": optimizer.schedule, "decay_epochs": decay_epochs,
          "decay_factors": multipliers_after_decays(optimizer.decay_factors, len(decay_epochs)),
          "drw_start_epoch": epoch_of(config.class_weights.start_epoch, epochs)}


def sets_a_schedule(config: ml_collections.ConfigDict) -> bool:
  """Whether `config` schedules anything over its epochs (then the run announces it)."""
  return config.optimizer.schedule != "constant" or any(
      _value(config, name) for name in SCHEDULE_FIELDS)


def schedule_line(schedule: dict[str, Any]) -> str:
  """The resolved schedule in one line, e.g. "schedule: 20 epochs x 116 steps; warm-up 0;
  lr x0.1 from epoch 16, x0.01 from epoch 18; DRW from epoch 16"."""
  lr = schedule["lr_schedule"]
  if lr == "step":
    drops = zip(schedule["decay_epochs"], schedule["decay_factors"])
    lr = ", ".join(f"x{factor:g} from epoch {epoch}" for epoch, factor in drops)
  parts = [f"{schedule['epochs']} epochs x {schedule['steps_per_epoch']} steps",
           f"warm-up {schedule['warmup_epochs']}", f"lr {lr}"]
  if schedule["drw_start_epoch"]:
    parts.append(f"DRW from epoch {schedule['drw_start_epoch']}")
  return "schedule: " + "; ".join(parts)


def laid_out_over_the_run(config: ml_collections.ConfigDict) -> list[str]:
  """What of `config` follows its length, as "field=value": the cosine schedule, the
  progressive sampler, schedule fields given as fractions. Extending such a run on a
  relaunch would move what it already did, so its train.epochs must not change."""
  bound = {"optimizer.schedule": config.optimizer.schedule == "cosine",
           "data.sampler": config.data.sampler == "progressive"}
  for name in SCHEDULE_FIELDS:
    value = _value(config, name)
    bound[name] = any(map(is_fraction, value if isinstance(value, (list, tuple)) else [value]))
  return [f"{name}={_value(config, name)!r}" for name, follows in bound.items() if follows]


def _value(config: ml_collections.ConfigDict, dotted: str) -> Any:
  section, key = dotted.split(".")
  return config[section][key]
