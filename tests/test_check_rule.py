"""`python -m framework.tools.check_rule` on the example rule (passes) and on a rule that uses only
its replica's rows (fails, naming the replica mismatch)."""

import os
import re
import subprocess
import sys

import pytest

from framework.tools import check_rule as check_rule_tool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "tests", "example_rule.py")

LOCAL_MEAN_RULE = '''
import tensorflow as tf
import framework


@framework.register_rule("replica_mean_weights")
def replica_mean_weights():
  """w_i = loss_i / mean(loss over the batch `modulate` sees): only this replica's rows."""
  def modulate(view, batch):
    def weight(loss):
      loss = tf.stop_gradient(loss)
      return loss / tf.reduce_mean(loss)
    return framework.Modulation(weight=weight)

  def update(view, batch, result):
    return view.replace(per_sample={"weight": result.weight})

  return framework.Rule(modulate=modulate, update=update)
'''


def check_rule(*args):
  env = dict(os.environ, PYTHONPATH=ROOT)
  return subprocess.run([sys.executable, "-m", "framework.tools.check_rule", *args], cwd=ROOT,
                        env=env, capture_output=True, text=True, timeout=300)


def check_rule_here(capsys, *args):
  """`check_rule` in this process (its CPU is split already), as `check_rule` returns it."""
  status = check_rule_tool.main(list(args))
  captured = capsys.readouterr()
  return subprocess.CompletedProcess(args, status, captured.out, captured.err)


def _lines(out: str, verdict: str) -> list[str]:
  return [line for line in out.splitlines() if line.startswith(verdict)]


@pytest.mark.slow
def test_example_rule_passes(capsys):
  run = check_rule_here(capsys, f"{EXAMPLE}:example_focal_weights", "--kwargs", "gamma=1.5")
  assert run.returncode == 0, run.stdout + run.stderr
  assert "gamma=1.5" in run.stdout
  passed = _lines(run.stdout, "PASS")
  for check in ("one device = two replicas", "single trace", "finite", "checkpoint round trip"):
    assert any(check in line for line in passed), run.stdout
  assert not _lines(run.stdout, "FAIL") and "all 7 checks passed" in run.stdout
  assert "Traceback" not in run.stderr


@pytest.mark.slow
def test_replica_local_rule_fails_naming_the_mismatch(tmp_path, capsys):
  (tmp_path / "replica_rule.py").write_text(LOCAL_MEAN_RULE)
  run = check_rule_here(capsys, f"{tmp_path / 'replica_rule.py'}:replica_mean_weights")
  assert run.returncode == 1, run.stdout + run.stderr
  failed = _lines(run.stdout, "FAIL")
  assert len(failed) == 1 and "one device = two replicas" in failed[0], run.stdout
  assert "per_sample/weight differs by up to" in failed[0]
  assert "uses only its replica's rows" in failed[0]
  assert any("single trace" in line for line in _lines(run.stdout, "PASS"))
  assert "1 of 7 checks failed" in run.stdout and "Traceback" not in run.stderr


@pytest.mark.slow
def test_bad_input_is_one_line(tmp_path, capsys):
  run = check_rule("tests/example_rule.py:example_focal_weights", "--kwargs", "gama=1")
  assert run.returncode == 1  # in a process of its own: nothing of TensorFlow's either
  assert run.stderr.strip().splitlines() == [
      "error: --kwargs gama: not a parameter of rule 'example_focal_weights'; allowed: gamma"]
  run = check_rule_here(capsys, f"{tmp_path / 'missing.py'}:rule")
  assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1
  assert "no such file" in run.stderr


def test_kwargs_that_take_a_number_or_a_word():
  from framework.tools.check_rule import parse_kwargs  # pylint: disable=g-import-not-at-top
  assert parse_kwargs("mwnet", ["inner_lr=model", "meta_lr=0.01"]) == {
      "inner_lr": "model", "meta_lr": 0.01}
  assert parse_kwargs("l2rw", ["inner_lr=0.5"]) == {"inner_lr": 0.5}


DOUBLED_ROWS_RULE = '''
import tensorflow as tf
import framework


@framework.register_rule("doubled_rows")
def doubled_rows():
  """An update returning 2B rows of per_sample/weight for a batch of B."""
  def update(view, batch, result):
    weight = view.per_sample["weight"]
    return view.replace(per_sample={"weight": tf.concat([weight, weight], 0)})
  return framework.Rule(update=update)
'''


@pytest.mark.slow
def test_an_update_returning_twice_the_rows_fails(tmp_path, capsys):
  (tmp_path / "doubled_rule.py").write_text(DOUBLED_ROWS_RULE)
  run = check_rule_here(capsys, f"{tmp_path / 'doubled_rule.py'}:doubled_rows")
  assert run.returncode == 1, run.stdout + run.stderr
  failed = _lines(run.stdout, "FAIL")
  assert "trains on one device" in failed[0], run.stdout
  assert "returned per_sample/weight of shape (64,) float32" in failed[0]
  assert "all 7 checks passed" not in run.stdout


def test_the_update_check_reads_shapes_and_dtypes():
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from framework.weights import Tables, check_update  # pylint: disable=g-import-not-at-top
  view = Tables({"weight": tf.ones([4])}, {"alpha": tf.ones([3])}, {"count": tf.zeros([])})
  check_update(view, view.replace(per_sample={"weight": tf.zeros([4])}))
  for returned, words in (
      (view.replace(per_sample={"weight": tf.ones([8])}), "per_sample/weight of shape (8,)"),
      (view.replace(per_sample={"weight": tf.ones([4], tf.float64)}), "(4,) float64"),
      (view.replace(per_class={"alpha": tf.ones([2])}), "per_class/alpha of shape (2,)"),
      (view.replace(shared={"count": tf.zeros([1])}), "shared/count of shape (1,)")):
    with pytest.raises(ValueError, match=re.escape(words)):
      check_update(view, returned)
  unknown = tf.TensorSpec([None], tf.float32)  # a dimension unknown while tracing passes
  tf.function(lambda w: check_update(Tables({"weight": w}), Tables({"weight": w})),
              input_signature=[unknown]).get_concrete_function()
