"""`extra_modules` .py paths resolve next to the experiment file first, then in the cwd."""

import json

import pytest

from framework.config import resolve_extra_modules
from tests.test_launch import launch_here

EXPERIMENT = '''
from framework.config import base_config

VARIANTS = {"only": {}}


def get_config(variant=None):
  c = base_config()
  c.data.source = "synthetic"
  c.data.num_samples = 256
  c.model.name = "linear"
  c.train.batch_size = 32
  c.train.epochs = 1
  c.rule.name = "halving_rule"
  c.variant = "only"
  return c
'''

RULE = '''
import framework


@framework.register_rule("halving_rule")
def halving_rule():
  """Halves the weight of every example it sees, so a test can tell it ran."""
  def update(view, batch, result):
    return view.replace(per_sample={"weight": 0.5 * view.per_sample["weight"]})
  return framework.Rule(update=update)
'''


def _touch(path):
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text("")
  return str(path)


def test_next_to_the_experiment_file_first_then_the_cwd(tmp_path, monkeypatch):
  experiment = _touch(tmp_path / "project" / "experiments" / "x.py")
  near = _touch(tmp_path / "project" / "experiments" / "rules" / "mine.py")
  _touch(tmp_path / "cwd" / "rules" / "mine.py")      # shadowed by the one near the file
  in_cwd = _touch(tmp_path / "cwd" / "only_here.py")
  monkeypatch.chdir(tmp_path / "cwd")
  modules = ("rules/mine.py", "only_here.py", "my_package.rules", "absent.py", near)
  assert resolve_extra_modules(modules, experiment) == (
      near, in_cwd, "my_package.rules", "absent.py", near)


@pytest.mark.slow
def test_launch_from_another_directory(tmp_path, monkeypatch):
  (tmp_path / "project" / "experiments").mkdir(parents=True)
  (tmp_path / "project" / "rules").mkdir()
  (tmp_path / "project" / "experiments" / "tiny.py").write_text(EXPERIMENT)
  (tmp_path / "project" / "rules" / "halving.py").write_text(RULE)
  (tmp_path / "elsewhere").mkdir()
  monkeypatch.chdir(tmp_path / "elsewhere")
  workdir = tmp_path / "run"
  run = launch_here(f"--config={tmp_path / 'project' / 'experiments' / 'tiny.py'}",
                    "--config.extra_modules=('../rules/halving.py',)", workdir=workdir)
  assert run.returncode == 0, run.stdout + run.stderr
  with open(workdir / "config.json", encoding="utf-8") as f:
    saved = json.load(f)
  assert saved["extra_modules"] == [str(tmp_path / "project" / "rules" / "halving.py")]
  assert saved["rule"]["name"] == "halving_rule"
