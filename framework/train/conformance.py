"""The rule conformance checks, as results: what every rule must satisfy to be trusted.

A rule is trained for a few compiled loops on a tiny synthetic problem on one device and
on two replicas, and the checks compare the runs: a single trace, table shapes, finite
state, identical state on one device and two replicas, a checkpoint round trip.
`tests/test_rule_conformance.py` runs them on every registered rule and
`python -m framework.tools.check_rule` on a user's. The two-replica run needs two devices: on a
CPU-only machine split the CPU (`framework.train.distribute.split_cpu(2)`) before TensorFlow
initialises.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping

import numpy as np

from framework.config import base_config, set_fields
from framework.errors import one_line
from framework.weights.tables import split_key

STEPS, LOOPS = 4, 2  # steps per compiled loop, loops per run: a second loop would retrace
TOLERANCE = 1e-5     # relative and absolute, one device vs two replicas
REPLICA_HINT = ("this usually means the rule uses only its replica's rows (e.g. `modulate` "
                "normalises by a replica-local batch statistic such as the batch mean): under "
                "a distribution strategy `modulate` sees only its replica's part of the batch; "
                "compute batch statistics in `update`, which sees the global batch")


@dataclasses.dataclass(frozen=True)
class Check:
  """The outcome of one check: its name, whether it passed, and a short reason."""
  name: str
  passed: bool
  reason: str = ""

  def __str__(self) -> str:
    return f"{'PASS' if self.passed else 'FAIL'}  {self.name}: {self.reason}"


def synthetic_config(strategy: str = "one_device", **overrides):
  """A tiny synthetic-data run: 4 classes, 16 features, an MLP, batch 32.

  `overrides` set fields by path with `__` for dots: `rule__name="loss_ema"`.
  """
  c = base_config()
  c.data.source = "synthetic"
  c.data.num_samples = 512
  c.data.long_tail.profile = "exponential"
  c.data.long_tail.imbalance_ratio = 4.0
  c.model.kwargs = {"hidden": (32,)}
  c.train.batch_size = 32
  c.train.val_batch_size = 16
  c.train.epochs = 2
  c.strategy.name = strategy
  c.strategy.cpu_devices = 2 if strategy == "mirrored" else 0
  set_fields(c, overrides)  # rule__name=... sets rule.name
  return c


def rule_config(name: str, kwargs: Mapping[str, Any] | None = None,
                strategy: str = "one_device", overrides: Mapping[str, Any] | None = None):
  """The synthetic run of rule `name` (with a clean validation split, for meta rules);
  `overrides` as `synthetic_config` takes them (e.g. data__mix__name="mixup")."""
  return synthetic_config(strategy, rule__name=name, rule__kwargs=dict(kwargs or {}),
                          data__val_per_class=8, **dict(overrides or {}))


def train(config, steps: int = STEPS, loops: int = 1):
  """Builds the experiment of `config` and runs `loops` compiled loops of `steps` steps
  (each cut where a rule's epoch pass falls, as the controller cuts its loops)."""
  from framework.train import experiment  # pylint: disable=g-import-not-at-top (TensorFlow)
  from framework.train.controller import cut_at_multiple  # pylint: disable=g-import-not-at-top
  exp = experiment.build(config)
  for _ in range(loops):
    left = steps
    while left > 0:
      run = cut_at_multiple(exp.trainer.current_step, left, exp.trainer.pass_every_steps)
      exp.trainer.train(run)
      left -= run
  return exp


def parameters(exp) -> dict[str, np.ndarray]:
  """The model's trainable parameters by path."""
  return {v.path: np.asarray(v.numpy()) for v in exp.model.trainable_variables}


def check_single_trace(runs: Mapping[str, Any]) -> Check:
  """Each run's compiled loop was traced once, however many loops it ran."""
  counts = {where: exp.trainer.trace_count for where, exp in runs.items()}
  shown = ", ".join(f"{n} on {where}" for where, n in counts.items())
  if all(n == 1 for n in counts.values()):
    return Check("single trace", True, f"the training loop compiled once ({shown})")
  return Check("single trace", False,
               f"traces: {shown}; expected 1 each (something in the step changes between "
               "calls: a Python value or a new object per call)")


def check_shapes(exp) -> Check:
  """Every per-sample table has N rows and every per-class table C rows."""
  n, c = len(exp.data.train), exp.data.num_classes
  for key, value in exp.state.numpy().items():
    rows = {"per_sample": n, "per_class": c}.get(split_key(key)[0])
    if rows is not None and (value.ndim == 0 or value.shape[0] != rows):
      return Check("table shapes", False, f"{key} has shape {value.shape}; its first "
                   f"dimension must be {rows}")
  return Check("table shapes", True, f"per-sample tables have {n} rows, per-class {c}")


def check_finite(runs: Mapping[str, Any]) -> Check:
  """No step went non-finite, and every table and model parameter is finite."""
  for where, exp in runs.items():
    if exp.trainer.diverged:
      return Check("finite", False, f"{exp.trainer.diverged} went non-finite on {where} at "
                   f"step {exp.trainer.current_step}")
    values = {**exp.state.numpy(), **parameters(exp)}
    for key, value in values.items():
      if not np.all(np.isfinite(value)):
        return Check("finite", False, f"{key} holds NaN or inf on {where}")
  return Check("finite", True, "no non-finite step; every table and parameter is finite")


def _largest_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, tuple, bool]:
  """(largest |a - b|, where, whether it exceeds the tolerance anywhere)."""
  a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
  gap = np.abs(a - b)
  where = np.unravel_index(np.argmax(gap), gap.shape) if gap.size else ()
  exceeds = bool(np.any(gap > TOLERANCE + TOLERANCE * np.abs(b)))
  return (float(gap[where]) if gap.size else 0.0), tuple(int(i) for i in where), exceeds


def _first_mismatch(one: Mapping[str, np.ndarray], two: Mapping[str, np.ndarray]) -> str:
  """'' when every entry agrees; else the entry with the largest difference, described."""
  worst = None
  for key, value in one.items():
    if np.shape(value) != np.shape(two[key]):
      return f"{key} has shape {np.shape(value)} on one device, {np.shape(two[key])} on two"
    gap, where, exceeds = _largest_difference(value, two[key])
    if exceeds and (worst is None or gap > worst[1]):
      worst = (key, gap, where)
  if worst is None:
    return ""
  key, gap, where = worst
  at = f" at row {where[0]}" if len(where) == 1 else f" at {where}" if where else ""
  return (f"{key} differs by up to {gap:.3g}{at} ({float(np.asarray(one[key])[where]):.6g} "
          f"on one device, {float(np.asarray(two[key])[where]):.6g} on two replicas)")


def check_replicas(one, two) -> Check:
  """The weight tables and the model parameters agree on one device and two replicas."""
  name = "one device = two replicas"
  replicas = two.strategy.num_replicas_in_sync
  if replicas != 2:
    return Check(name, False, f"the second run has {replicas} replica(s), not 2: split the "
                 "CPU before TensorFlow initialises (framework.train.distribute.split_cpu(2))")
  t1, t2 = one.state.numpy(), two.state.numpy()
  if t1.keys() != t2.keys():
    return Check(name, False, f"tables differ: {sorted(t1)} on one device, {sorted(t2)} on two")
  p1, p2 = parameters(one), parameters(two)
  if len(p1) != len(p2):
    return Check(name, False, f"{len(p1)} model parameters on one device, {len(p2)} on two")
  table, param = _first_mismatch(t1, t2), _first_mismatch(p1, dict(zip(p1, p2.values())))
  if not table and not param:
    return Check(name, True, f"every table and parameter within {TOLERANCE:g}")
  found = f"weight table {table}" if table else f"model parameter {param}"
  if table and param:
    found += "; the model parameters differ too"
  return Check(name, False, f"{found}; {REPLICA_HINT}")


def check_checkpoint(exp, directory: str) -> Check:
  """Saved, then restored into a freshly built trainer: the same tables, parameters, step."""
  from framework.train import experiment  # pylint: disable=g-import-not-at-top (TensorFlow)
  name = "checkpoint round trip"
  path = exp.trainer.checkpoint().save(os.path.join(directory, "ckpt"))
  fresh = experiment.build(exp.config)
  try:
    fresh.trainer.checkpoint().restore(path).assert_existing_objects_matched()
  except AssertionError as e:
    return Check(name, False, f"restoring into a fresh trainer: {one_line(e)}")
  saved, restored = exp.state.numpy(), fresh.state.numpy()
  if saved.keys() != restored.keys():
    return Check(name, False, f"tables {sorted(saved)} saved, {sorted(restored)} restored")
  params = parameters(exp)
  restored.update(zip(params, parameters(fresh).values()))
  for key, value in {**saved, **params}.items():
    if not np.array_equal(value, restored[key]):
      return Check(name, False, f"{key} differs after the restore")
  if fresh.trainer.current_step != exp.trainer.current_step:
    return Check(name, False, f"step {fresh.trainer.current_step} restored, "
                 f"{exp.trainer.current_step} saved")
  return Check(name, True, f"{len(saved)} tables, the parameters and the step restored exactly")


def describe_error(error: BaseException) -> str:
  """One line for an error; for a traced function's "in user code:" wall, its last line and
  the innermost frame."""
  text = str(error).strip()
  if not text.startswith("in user code:"):
    return f"{type(error).__name__}: {one_line(error, 300)}"
  lines = [line.strip() for line in text.splitlines() if line.strip()]
  frames = [i for i, line in enumerate(lines) if line.startswith("File ")]
  where = ""
  if frames and frames[-1] + 1 < len(lines) - 1:
    frame, code = lines[frames[-1]], lines[frames[-1] + 1]
    where = f" (at {frame.removeprefix('File ').rstrip(' *')}: {code})"
  return one_line(lines[-1] + where, 300)


def _trained(name: str, config, steps: int, loops: int) -> tuple[Any, Check]:
  """(the trained experiment or None, a check saying whether training ran); errors in one
  line."""
  try:
    exp = train(config, steps, loops)
  except Exception as e:  # pylint: disable=broad-except  (the user's rule may fail anyhow)
    return None, Check(name, False, describe_error(e))
  replicas = exp.strategy.num_replicas_in_sync
  return exp, Check(name, True, f"{loops} compiled loops of {steps} steps on {replicas} "
                    f"replica{'s' if replicas > 1 else ''}")


def run_checks(name: str, kwargs: Mapping[str, Any] | None = None,
               directory: str | None = None, steps: int = STEPS,
               loops: int = LOOPS, overrides: Mapping[str, Any] | None = None) -> list[Check]:
  """Every check on rule `name`: trains it on one device and on two replicas (`loops`
  compiled loops of `steps` steps each), compares, and saves to and restores from
  `directory` (no checkpoint check without one). A check whose run failed fails too.
  `overrides` set other fields of both runs (e.g. the mixing: data__mix__name="mixup")."""
  one, trained_one = _trained("trains on one device",
                              rule_config(name, kwargs, overrides=overrides), steps, loops)
  two, trained_two = _trained("trains on two replicas",
                              rule_config(name, kwargs, "mirrored", overrides), steps, loops)
  checks = [trained_one, trained_two]
  later = ["single trace", "table shapes", "finite", "one device = two replicas"]
  if directory is not None:
    later.append("checkpoint round trip")
  if one is None or two is None:
    failed = "one device" if one is None else "two replicas"
    return checks + [Check(c, False, f"not run: training on {failed} failed") for c in later]
  runs = {"one device": one, "two replicas": two}
  checks += [check_single_trace(runs), check_shapes(one), check_finite(runs),
             check_replicas(one, two)]
  if directory is not None:
    try:
      checks.append(check_checkpoint(one, directory))
    except Exception as e:  # pylint: disable=broad-except
      checks.append(Check("checkpoint round trip", False, describe_error(e)))
  return checks
