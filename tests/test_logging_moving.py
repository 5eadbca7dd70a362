"""Only what moves is charted: held-back values, backfill when a family moves, constants."""

import numpy as np

from framework.summaries import OnlyMoving


def test_a_constant_family_is_held_back_and_reported_as_constant():
  moving = OnlyMoving()
  for step in (1, 2, 3):
    assert moving(step, {"alpha": np.ones(3)}) == []
  assert list(moving.constants()) == ["alpha"]
  np.testing.assert_array_equal(moving.constants()["alpha"], np.ones(3))


def test_a_family_that_moves_is_backfilled_then_written_every_time():
  moving = OnlyMoving()
  assert moving(10, {"w": np.array(1.0), "c": np.array(5.0)}) == []
  assert moving(20, {"w": np.array(1.0), "c": np.array(5.0)}) == []
  out = moving(30, {"w": np.array(2.0), "c": np.array(5.0)})
  assert [(step, {k: float(v) for k, v in values.items()}) for step, values in out] == [
      (10, {"w": 1.0}), (20, {"w": 1.0}), (30, {"w": 2.0})]
  out = moving(40, {"w": np.array(2.0), "c": np.array(5.0)})  # live: written even unchanged
  assert [(step, list(values)) for step, values in out] == [(40, ["w"])]
  assert list(moving.constants()) == ["c"] and moving.live == {"w"}


def test_one_class_moving_makes_the_whole_per_class_family_live():
  moving = OnlyMoving()
  moving(1, {"recall": np.array([0.5, 1.0])})
  out = moving(2, {"recall": np.array([0.6, 1.0])})
  assert [step for step, _ in out] == [1, 2]
  np.testing.assert_array_equal(out[1][1]["recall"], [0.6, 1.0])


def test_nan_equals_nan_and_a_resumed_filter_keeps_what_moved():
  moving = OnlyMoving()
  moving(1, {"m": np.array([np.nan, 1.0])})
  assert moving(2, {"m": np.array([np.nan, 1.0])}) == []
  resumed = OnlyMoving(live=["m"])
  assert [step for step, _ in resumed(3, {"m": np.array([np.nan, 1.0])})] == [3]
