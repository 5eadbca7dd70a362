"""A sweep declaration: a Python file whose `get_sweep()` returns a `Sweep`.

    # experiments/sweeps/fmnist_lt_ratios.py
    from framework.sweeps import Sweep

    def get_sweep():
      return Sweep(experiment="fmnist_lt", variants=("ce", "ldam_drw"), seeds=(0, 1),
                   product={"data.long_tail.imbalance_ratio": (10.0, 100.0)},
                   fixed={"train.epochs": 2})

Every run is one variant x one combination of settings x one seed, with `fixed` applied
to all of them. Settings are the product of the `product` fields' values, times the rows
of the `together` fields (equal-length lists varied in step, zip-style). In a string
value, "{root}" stands for the sweep's root (--root); a path value names its runs by its
file's stem (".../seed{seed}/cleanlab.csv": "file=cleanlab").
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
from typing import Any, Mapping, Sequence

from framework.errors import ConfigError, one_line

SHIPPED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "experiments", "sweeps")


@dataclasses.dataclass(frozen=True)
class Sweep:
  """What a sweep runs: the experiment's variants x settings x seeds."""
  experiment: str  # a shipped experiment's name ("fmnist_lt") or a .py path (from the sweep file)
  variants: Sequence[str] | None = None  # None: every variant of the experiment
  seeds: Sequence[int] = (0,)  # each sets every field of `seed_fields`
  product: Mapping[str, Sequence[Any]] = dataclasses.field(default_factory=dict)
  together: Mapping[str, Sequence[Any]] = dataclasses.field(default_factory=dict)
  fixed: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  # {variant: other}: each run of `variant` starts from the finished run of `other` with the
  # same settings and seed (model.init_from), and waits for it (cRT re-trains ce's classifier)
  starts_from: Mapping[str, str] = dataclasses.field(default_factory=dict)
  seed_fields: Sequence[str] = ("seed", "data.seed")

  def __post_init__(self):
    if not self.seeds or not all(isinstance(s, int) and s >= 0 for s in self.seeds):
      raise ConfigError(f"seeds={list(self.seeds)!r}: give one or more integers >= 0")
    for kind, values in (("product", self.product), ("together", self.together)):
      for name, options in values.items():
        if isinstance(options, (str, bytes)) or not isinstance(options, Sequence) or not options:
          raise ConfigError(f"{kind}[{name!r}]={options!r}: give a non-empty list of values")
    if len({len(v) for v in self.together.values()}) > 1:
      lengths = {k: len(v) for k, v in self.together.items()}
      raise ConfigError(f"together={lengths}: the fields varied together need lists of one "
                        "length")
    varied = set(self.product) | set(self.together) | set(self.seed_fields)
    clash = sorted(varied & set(self.fixed) | set(self.product) & set(self.together))
    if clash:
      raise ConfigError(f"{clash[0]!r} is both fixed and varied (or varied twice); set it "
                        "in one place")

  def only(self, variants: Sequence[str]) -> "Sweep":
    """The sweep restricted to `variants` (checked against the experiment when planned)."""
    return dataclasses.replace(self, variants=tuple(variants), starts_from={
        k: v for k, v in self.starts_from.items() if k in variants})


def sweep_file(spec: str) -> str:
  """The declaration file of `spec`: a path, or the name of a shipped declaration
  ('fmnist_lt_table': framework/experiments/sweeps/fmnist_lt_table.py)."""
  path = spec if spec.endswith(".py") or os.sep in spec else os.path.join(SHIPPED, spec + ".py")
  if not os.path.isfile(path):
    shipped = sorted(_stem(n) for n in os.listdir(SHIPPED) if not n.startswith("_"))
    raise ConfigError(f"--sweep={spec}: no such file {path!r} (shipped sweeps: "
                      f"{', '.join(shipped)})")
  return os.path.abspath(path)


def load_sweep(path: str) -> Sweep:
  """The `Sweep` that `get_sweep()` of the declaration file at `path` returns; one-line
  errors."""
  try:
    spec = importlib.util.spec_from_file_location("sweep_" + _stem(path), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sweep = module.get_sweep()
  except ConfigError as e:
    raise ConfigError(f"--sweep={path}: {e}") from None
  except Exception as e:  # pylint: disable=broad-except  (the user's file may fail anyhow)
    raise ConfigError(f"--sweep={path} does not load ({type(e).__name__}: {one_line(e)})"
                      ) from None
  if not isinstance(sweep, Sweep):
    raise ConfigError(f"--sweep={path}: get_sweep() returned {type(sweep).__name__}, not a "
                      "framework.sweeps.Sweep")
  return sweep


def experiment_spec(sweep: Sweep, sweep_path: str) -> str:
  """The sweep's experiment as `load_experiment` takes it: a path found next to the sweep
  file first, then from the current directory; a name without '.py' is a shipped one."""
  if not sweep.experiment.endswith(".py"):
    return sweep.experiment
  beside = os.path.join(os.path.dirname(os.path.abspath(sweep_path)), sweep.experiment)
  found = beside if os.path.isfile(beside) else os.path.abspath(sweep.experiment)
  if not os.path.isfile(found):
    raise ConfigError(f"experiment={sweep.experiment!r}: no such file next to {sweep_path} "
                      "or in the current directory")
  return os.path.normpath(found)


def _stem(path: str) -> str:
  return os.path.splitext(os.path.basename(path))[0]
