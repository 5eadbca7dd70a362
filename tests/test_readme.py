"""The README's "Using it from Python" block runs as written."""

import os
import re
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _block(title: str) -> str:
  with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
    text = f.read()
  section = text.split(f"## {title}\n", 1)[1]
  return re.search(r"```python\n(.*?)```", section, re.S).group(1)


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
