"""Progress lines: one per epoch with the latest evaluation, a time left that ignores the
first (compiling) loop, and no control characters unless stdout is a terminal."""

import io
import re
import subprocess
import sys

import pytest

from framework.train.actions import LoopEnd, Progress

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # anything but \t and \n


class Clock:
  def __init__(self, times):
    self.times = iter(times)

  def __call__(self):
    return next(self.times)


def _run(interactive, loops, times, total=8, per_epoch=4):
  stream = io.StringIO()
  progress = Progress(total, per_epoch, stream, interactive, Clock(times))
  for loop, (step, metrics) in enumerate(loops, start=1):
    end = LoopEnd(step, loop, step == total, 0.5, metrics)
    assert progress.due(end)
    progress.run(end)
  return stream.getvalue()


def test_plain_lines_one_per_epoch_with_the_latest_evaluation():
  # loops of 2 steps; the first loop took 100 s (compiling), the others 1 s each
  out = _run(False, [(2, None), (4, {"balanced_accuracy": 0.75, "macro_f1": 0.5}),
                     (6, None), (8, None)], [0, 100, 101, 102, 103])
  lines = out.splitlines()
  assert not CONTROL.search(out)
  assert len(lines) == 2
  assert lines[0].startswith("epoch 1/2  step 4/8  loss 0.5000  test balanced acc 0.7500  "
                             "macro-F1 0.5000")
  assert lines[0].endswith("ETA 0:02")  # 2 steps per second after the first loop, 4 left
  assert lines[1].startswith("epoch 2/2  step 8/8") and "ETA" not in lines[1]


def test_a_terminal_gets_a_bar_redrawn_in_place():
  out = _run(True, [(2, None), (4, None), (6, None), (8, None)], [0, 10, 11, 12, 13])
  assert out.count("\n") == 2 and "\r" in out
  assert "[##########          ] 2/4" in out


@pytest.mark.slow
def test_a_redirected_launch_writes_no_control_characters(tmp_path):
  out_file, err_file = tmp_path / "out.txt", tmp_path / "err.txt"
  with open(out_file, "w") as out, open(err_file, "w") as err:
    code = subprocess.call(
        [sys.executable, "launch.py", "--config=experiments/default.py:ce",
         f"--workdir={tmp_path / 'run'}", "--config.train.epochs=2",
         "--config.train.eval_every_epochs=1"], stdout=out, stderr=err)
  text = out_file.read_text() + err_file.read_text()
  assert code == 0, text
  assert not CONTROL.search(text), repr(CONTROL.search(text))
  assert "epoch 1/2" in text and "epoch 2/2" in text
  assert "train n" in text  # the final table shows the training counts
  assert "oneDNN" not in text and "cpu_feature_guard" not in text  # start-up noise silenced
