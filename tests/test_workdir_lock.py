"""The launcher's early look at a workdir's lock: refuses a live run's workdir in one line,
takes no lock, creates nothing, and lets a finished run's workdir through; a relaunch reads
the workdir only under the lock."""

import os

import pytest

from framework.errors import ConfigError
from framework.runs.rundir import RunDir


def test_a_missing_workdir_passes_and_is_not_created(tmp_path):
  RunDir(tmp_path / "run").check_not_in_use()
  assert not (tmp_path / "run").exists()


def test_a_held_lock_is_one_line_naming_its_owner_and_stays_held(tmp_path):
  run = RunDir(tmp_path / "run")
  with run.lock():  # flock locks belong to an open file: this one conflicts with the probe's
    with pytest.raises(ConfigError) as error:
      run.check_not_in_use()
    message = str(error.value)
    assert len(message.splitlines()) == 1 and "is in use by a running run" in message
    assert f"pid {os.getpid()} on " in message
    with pytest.raises(ConfigError):  # the probe did not release the run's lock
      run.check_not_in_use()
  run.check_not_in_use()  # released: a relaunch may go ahead
  with run.lock():  # and the probe kept no lock of its own
    pass


def test_a_relaunch_reads_the_workdir_only_under_its_lock(tmp_path):
  """A launch on a workdir another run holds is refused for the lock before it reads the
  run's config.json or data fingerprint (which that run may be writing)."""
  from framework.runs import files  # pylint: disable=g-import-not-at-top
  from framework.train import experiment, runner  # pylint: disable=g-import-not-at-top
  from tests.helpers import synthetic_config  # pylint: disable=g-import-not-at-top
  run = RunDir(tmp_path / "run")
  run.create()
  run.write_text(files.CONFIG, "{half written")  # read first, it would fail otherwise
  exp = experiment.build(synthetic_config())
  with run.lock():
    with pytest.raises(ConfigError, match="is in use by a running run"):
      runner.run_guarded(exp, run.path, verbose=False)
