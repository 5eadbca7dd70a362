"""The controller's action protocol: loops end on every schedule, the evaluation runs once
per due step and reaches every action whatever its place in the list, and every action
finishes with the final metrics, also when a relaunch finds nothing left to train."""

from framework.train.actions import Action, Evaluation, LoopEnd
from framework.train import controller as controller_lib
from framework.train.controller import Controller


class StepTrainer:
  """Stands in for the compiled trainer: `train(n)` advances the step; loss = the step."""
  stop_requested, diverged = False, None

  def __init__(self, start: int = 0):
    self.current_step, self.loops = start, []

  def train(self, num_steps: int) -> float:
    self.loops.append(num_steps)
    self.current_step += num_steps
    return float(self.current_step)

  def request_stop(self) -> None:
    self.stop_requested = True


class StepEvaluator:
  """Metrics naming the step the model was at; counts its evaluations."""

  def __init__(self, trainer: StepTrainer):
    self.trainer, self.calls = trainer, 0

  def evaluate(self, split) -> dict:
    del split
    self.calls += 1
    return {"at": self.trainer.current_step}


class Recorder(Action):
  def __init__(self, log: list, name: str, **schedule):
    self.log, self.name = log, name
    for key, value in schedule.items():
      setattr(self, key, value)

  def run(self, end: LoopEnd) -> None:
    self.log.append((self.name, end.step, end.metrics))

  def finish(self, step: int, metrics: dict | None) -> None:
    self.log.append((self.name, "finish", step, metrics))


def _controller(trainer, actions, every_evaluation=3, total=10, per_loop=4):
  evaluator = StepEvaluator(trainer)
  evaluation = Evaluation(evaluator, split=None, every_steps=every_evaluation)
  return Controller(trainer, total, per_loop, actions, evaluation=evaluation), evaluator


def test_loops_end_on_the_evaluation_and_action_steps():
  trainer = StepTrainer()
  controller, _ = _controller(trainer, [Recorder([], "snapshots", every_steps=5)])
  assert controller.run() == 10
  # cuts at 3, 6, 9 (evaluation), 5, 10 (action), at most 4 steps a loop
  assert trainer.loops == [3, 2, 1, 3, 1]


def test_the_evaluation_reaches_every_action_whatever_its_place():
  log, trainer = [], StepTrainer()
  first = Recorder(log, "first", on_evaluation=True)
  plain = Recorder(log, "plain", every_loops=3)
  last = Recorder(log, "last", on_evaluation=True)
  controller, evaluator = _controller(trainer, [first, plain, last], per_loop=2)
  controller.run()
  runs = [entry for entry in log if entry[1] != "finish"]
  evaluated = [(3, {"at": 3}), (6, {"at": 6}), (9, {"at": 9}), (10, {"at": 10})]
  assert [(s, m) for name, s, m in runs if name == "first"] == evaluated
  assert [(s, m) for name, s, m in runs if name == "last"] == evaluated
  # loops end at 2, 3, 5, 6, 8, 9, 10: the 3rd and 6th at 5 (no evaluation) and 9
  assert [(s, m) for name, s, m in runs if name == "plain"] == [(5, None), (9, {"at": 9})]
  assert evaluator.calls == 4  # once per evaluated step, not once per action


def test_every_action_finishes_with_the_final_metrics():
  log, trainer = [], StepTrainer()
  actions = [Recorder(log, "a", at_end=True), Recorder(log, "b")]
  controller, evaluator = _controller(trainer, actions)
  controller.run()
  assert log[-2:] == [("a", "finish", 10, {"at": 10}), ("b", "finish", 10, {"at": 10})]
  assert [entry for entry in log if entry[0] == "b"] == [("b", "finish", 10, {"at": 10})]
  assert evaluator.calls == 4  # the final metrics are the last loop's evaluation


def test_a_finished_run_still_finishes_its_actions():
  log, trainer = [], StepTrainer(start=10)
  controller, evaluator = _controller(trainer, [Recorder(log, "a", every_loops=1)])
  assert controller.run() == 10
  assert trainer.loops == [] and evaluator.calls == 1
  assert log == [("a", "finish", 10, {"at": 10})]


def test_schedules_of_an_action():
  every_other = Recorder([], "x", every_loops=2)
  assert [every_other.due(LoopEnd(s, s, s == 4, 0.0)) for s in (1, 2, 3, 4)] == [
      False, True, False, True]
  at_end = Recorder([], "x", at_end=True)
  assert [at_end.due(LoopEnd(s, s, s == 4, 0.0)) for s in (1, 2, 3, 4)] == [
      False, False, False, True]
  assert not Recorder([], "x").due(LoopEnd(4, 4, True, 0.0, {"m": 1.0}))


def test_the_controller_times_each_action(monkeypatch):
  clock = [0.0]  # a fake clock: only the slow action moves it, so no real time is read
  monkeypatch.setattr(controller_lib.time, "perf_counter", lambda: clock[0])

  class Slow(Recorder):
    def run(self, end):
      clock[0] += 0.02

  slow, quick = Slow([], "slow", every_loops=1), Recorder([], "quick")
  controller, _ = _controller(StepTrainer(), [slow, quick], total=2, per_loop=1)
  controller.run()
  assert controller.seconds == [0.04, 0.0]
