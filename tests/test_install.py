"""From a non-editable install, run outside the checkout, the studies and benchmarks start.

The package is installed (`pip install --no-deps --target`, its dependencies come from this
environment) into a temporary folder and run from another folder, so nothing can be found
through the checkout: the shipped experiments must come with the package.
"""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # every test trains or starts a process

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
  target = tmp_path_factory.mktemp("site")
  build = tmp_path_factory.mktemp("build")
  done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                         "--no-build-isolation", "--target", str(target), ROOT],
                        capture_output=True, text=True, timeout=600,
                        env=dict(os.environ, TMPDIR=str(build)))
  assert done.returncode == 0, done.stderr[-2000:]
  return target


def _run(installed, *args, timeout=300):
  elsewhere = installed.parent
  env = dict(os.environ, PYTHONPATH=str(installed), TF_CPP_MIN_LOG_LEVEL="3")
  return subprocess.run([sys.executable, *args], cwd=elsewhere, env=env, capture_output=True,
                        text=True, timeout=timeout)


def test_the_package_comes_from_the_install(installed):
  done = _run(installed, "-c", "import framework.experiments.fmnist_lt as m, framework; "
              "print(framework.__file__); print(m.__file__)")
  assert done.returncode == 0, done.stderr[-2000:]
  assert all(line.startswith(str(installed)) for line in done.stdout.split()), done.stdout


def test_a_shipped_sweep_finds_its_experiment(installed, tmp_path):
  done = _run(installed, "-m", "framework.sweeps.run", "--sweep=fmnist_lt_table",
              "--variants=nope", f"--root={tmp_path}")
  assert done.returncode == 1
  assert "'nope' is not a variant of the experiment 'fmnist_lt'; known: ce, focal" in \
      done.stderr, done.stderr[-2000:]


def test_a_benchmark_runs(installed):
  done = _run(installed, "-m", "framework.bench.meta_step", "--steps=2", "--repeats=1",
              "--rules=l2rw")
  assert done.returncode == 0, done.stderr[-2000:]
  assert "l2rw:" in done.stdout and "x the plain step" in done.stdout
