"""Training: build a run from its config, the compiled trainer, the controller and its actions.

`run(config, workdir)` is the entry point; `experiment.build` makes the pieces, `Trainer`
compiles the step, `assemble` wires the evaluation and the actions to a `Controller`, which
loops the trainer and calls them between compiled loops. Names load on first use
(TensorFlow).
"""

import importlib as _importlib

_EXPORTS = {
    "run": "runner", "run_guarded": "runner", "run_experiment": "runner",
    "assemble": "runner", "RunWiring": "runner", "choose_tracked": "runner",
    "effective_weights": "runner",
    "relaunch_changes": "relaunch", "data_description": "workdir",
    "Experiment": "experiment", "build": "experiment",
    "Trainer": "trainer", "Controller": "controller",
    "Action": "actions", "Evaluation": "actions", "LoopEnd": "actions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
  if name not in _EXPORTS:
    raise AttributeError(f"module 'framework.train' has no attribute {name!r}")
  value = getattr(_importlib.import_module(f"framework.train.{_EXPORTS[name]}"), name)
  globals()[name] = value
  return value


def __dir__():
  return __all__
