"""Training: build a run from its config, the compiled trainer, the controller and its actions.

`run(config, workdir)` is the entry point; `experiment.build` makes the pieces, `Trainer`
compiles the step, `Controller` loops it and calls the actions between compiled loops.
Names load on first use (TensorFlow).
"""

from framework.lazy import lazy_exports as _lazy_exports

_EXPORTS = {
    "run": "runner", "run_guarded": "runner", "run_experiment": "runner",
    "standard_actions": "runner", "choose_tracked": "runner", "effective_weights": "runner",
    "relaunch_changes": "runner", "data_description": "runner",
    "Experiment": "experiment", "build": "experiment",
    "Trainer": "trainer", "Controller": "controller",
}

__getattr__, __dir__ = _lazy_exports(__name__, globals(), _EXPORTS)
__all__ = __dir__()
