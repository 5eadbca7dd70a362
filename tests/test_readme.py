"""The README matches the code: its Python block runs as written, its commands, cited files
and result-table variants exist, and its table of contents follows its headings."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest

import pytest


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _block(title: str) -> str:
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    text = f.read()
  section = text.split(f"## {title}\n", 1)[1]
  return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow  # trains
def test_using_it_from_python(capsys):
  namespace = {}
  exec(compile(_block("Using it from Python"), "README.md", "exec"), namespace)  # noqa: S102
  result = namespace["result"]
  try:
    final = result.results["final"]
    assert 0.0 <= final["balanced_accuracy"] <= 1.0 and result.results["step"] > 0
    assert result.tables.per_sample["weight"].shape == (len(result.experiment.data.train),)
    assert not (result.tables.per_sample["weight"] == 1).all()  # the rule moved them
    assert namespace["model"] is result.model                 # the user's model, trained
    assert os.path.exists(os.path.join(result.workdir, "model.keras"))
    printed = capsys.readouterr().out
    assert str(round(final["balanced_accuracy"], 4))[:5] in printed
  finally:
    shutil.rmtree(result.workdir, ignore_errors=True)


# The README against the code: the commands it shows, the files it cites, the variants its
# results tables name and its table of contents.

def _readme() -> str:
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    return f.read()


def _commands() -> list[str]:
  """Every `python launch.py` / `python -m framework.` line of the README's bash blocks,
  continuation lines joined and comments dropped."""
  commands = []
  for block in re.findall(r"```bash\n(.*?)```", _readme(), re.S):
    for line in block.replace("\\\n", " ").splitlines():
      line = " ".join(line.split("#", 1)[0].split())
      if line.startswith(("python launch.py", "python -m framework.")):
        commands.append(line)
  return commands


def _variants(experiment: str) -> dict:
  spec = importlib.util.spec_from_file_location("readme_experiment", os.path.join(ROOT, experiment))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.VARIANTS


def test_readme_commands_name_what_exists():
  commands = _commands()
  assert any(c.startswith("python launch.py") for c in commands)
  for command in commands:
    module = re.match(r"python -m (\S+)", command)
    if module:
      assert importlib.util.find_spec(module.group(1)), command
    config = re.search(r"--config=(\S+?\.py)(?::(\S+))?(?:\s|$)", command)
    if config:
      experiment, variant = config.groups()
      assert os.path.isfile(os.path.join(ROOT, experiment)), command
      assert variant is None or variant in _variants(experiment), command


def test_readme_cited_paths_exist():
  cited = set(re.findall(r"`((?:framework|experiments|tests)/[\w./-]*)`", _readme()))
  assert cited
  missing = sorted(p for p in cited if not os.path.exists(os.path.join(ROOT, p)))
  assert not missing


def _tables() -> list[tuple[str, list[str]]]:
  """(experiment file cited last before it, method names) of every results table."""
  text, tables = _readme(), []
  for match in re.finditer(r"^ *\| method \|.*\n *\|[-:| ]+\|\n((?: *\|.*\n)+)", text, re.M):
    experiment = re.findall(r"experiments/\w+\.py", text[:match.start()])[-1]
    rows = [row.strip().strip("|").split("|")[0].strip() for row in match.group(1).splitlines()]
    tables.append((experiment, [row.split(" (")[0] for row in rows]))
  return tables


def test_readme_results_tables_name_existing_variants():
  tables = _tables()
  assert {"experiments/fmnist_lt.py", "experiments/fmnist_noisy.py"} <= {e for e, _ in tables}
  for experiment, methods in tables:
    known = set(_variants(experiment)) | {"posthoc"}  # posthoc: the CE run's predictions adjusted
    assert set(methods) <= known, (experiment, set(methods) - known)


def _slug(heading: str) -> str:
  return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_readme_contents_match_headings_and_speak_of_the_project():
  text = _readme()
  prose = re.sub(r"```.*?```", "", text, flags=re.S)
  headings = re.findall(r"^## (.+)$", prose, re.M)
  contents = re.findall(r"^- \[(.+?)\]\(#(.+?)\)$", text, re.M)
  assert contents == [(h, _slug(h)) for h in headings]
  assert not re.search(r"\bissue \d+|\bthis stop\b|REFERENCE\.md|the issue's", text, re.I)


def _run(*args: str) -> str:
  env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
  done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                        text=True, timeout=600, check=False)
  assert done.returncode == 0, done.stderr[-2000:]
  return done.stdout


@pytest.mark.slow
def test_readme_commands_run(tmp_path):
  """--help, --list, every launch.py command of the README at one epoch, and the inspect
  example: the printed command gives a table of the kind shown (class weights or not)."""
  assert "usage: python launch.py" in _run("launch.py", "--help")
  assert "loss.name (loss)" in _run("launch.py", "--list")
  for i, command in enumerate(c for c in _commands()
                                   if "--config=experiments/default.py" in c and "data.path" not in c):
    args = [a for a in command.split()[2:] if not a.startswith("--workdir")]
    _run("launch.py", *args, "--config.train.epochs=1", f"--workdir={tmp_path / str(i)}")
  text = _readme()
  shown_command = re.search(r"^    (python launch\.py [^\n]*(?:\\\n[^\n]*)*--workdir=runs/noisy)",
                            text, re.M).group(1).replace("\\\n", " ").split()
  shown = text.split("$ python -m framework.tools.inspect_run runs/noisy --top 5\n", 1)[1]
  shown_class_w = re.findall(r"^  \d +(?:\S+ +){7}(\S+)$", shown.split("```")[0], re.M)
  workdir = tmp_path / "noisy"
  args = [a for a in shown_command[2:] if not a.startswith(("--workdir", "--config.train.epochs"))]
  _run("launch.py", *args, "--config.train.epochs=1", f"--workdir={workdir}")
  printed = _run("-m", "framework.tools.inspect_run", str(workdir), "--top", "5")
  class_w = re.findall(r"^  \d +(?:\S+ +){7}(\S+)$", printed, re.M)
  assert shown_class_w and class_w
  assert (set(shown_class_w) == {"1"}) == (set(class_w) == {"1"}), (shown_class_w, class_w)
