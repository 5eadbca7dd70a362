"""Training: build a run from its config, the compiled trainer, the controller and its actions.

`run(config, workdir)` is the entry point; `experiment.build` makes the pieces, `Trainer`
compiles the step, `assemble` wires the evaluation and the actions to a `Controller`, which
loops the trainer and calls them between compiled loops. Names load on first use
(TensorFlow).
"""

from framework.lazy import lazy_exports as _lazy_exports

_EXPORTS = {
    "run": "runner", "run_guarded": "runner", "run_experiment": "runner",
    "assemble": "runner", "RunWiring": "runner", "choose_tracked": "runner",
    "effective_weights": "runner",
    "relaunch_changes": "relaunch", "data_description": "workdir",
    "Experiment": "experiment", "build": "experiment",
    "Trainer": "trainer", "Controller": "controller",
    "Action": "actions", "Evaluation": "actions", "LoopEnd": "actions",
    "EarlyStopping": "early_stopping",
}

__getattr__, __dir__ = _lazy_exports(__name__, globals(), _EXPORTS)
__all__ = __dir__()
