"""Prints how the launcher's sweep of bad inputs ends, counted case by case:

  python -m tests.bad_input_totals [--lines]    (from the repository root, PYTHONPATH=.)

tried / clean one line (and how many of those hold the case's expected words) / traceback /
silent acceptance / other; then each case that is not clean or lacks its expected words,
with its output (--lines: every case's line); then the other launcher tests of
tests/test_bad_inputs.py. Each case runs the launcher's `main` in this process, in a fresh
temporary workdir.
"""

from __future__ import annotations

import collections
import pathlib
import re
import sys
import tempfile

from tests.bad_input_cases import CASES, launch, load_launcher, outcome
from tests.bad_input_files import write_files


def totals(show_lines: bool = False) -> tuple[collections.Counter, dict[str, str]]:
  """(count per outcome, {case: what it printed} of the cases that are not clean, or whose
  line lacks the expected words); `show_lines` prints each case's stderr as it ends."""
  launcher = load_launcher()
  counts, odd = collections.Counter(), {}
  with tempfile.TemporaryDirectory() as folder:
    files = write_files(pathlib.Path(folder))
    for index, (name, (args, needle)) in enumerate(sorted(CASES.items())):
      workdir = pathlib.Path(folder) / f"run{index}"
      status, out, err = launch(launcher, [a.format(**files) for a in args], workdir)
      ended = outcome(status, out, err, workdir.exists())
      counts[ended] += 1
      counts["as expected"] += ended == "clean" and needle in err
      if show_lines:
        print(f"{name}: {err.strip()}")
      if ended != "clean" or needle not in err:
        odd[name] = f"{ended} (status {status!r}): {(err or out).strip()[-300:]}"
  return counts, odd


def other_launcher_tests() -> list[str]:
  """The launcher tests of tests/test_bad_inputs.py besides the sweep over CASES."""
  text = (pathlib.Path(__file__).parent / "test_bad_inputs.py").read_text()
  return [name for name in re.findall(r"^def (test_\w+)", text, re.M)
          if name != "test_bad_input_is_one_line"]


def main() -> int:
  counts, odd = totals("--lines" in sys.argv[1:])
  others = other_launcher_tests()
  tried = sum(counts[k] for k in ("clean", "traceback", "accepted", "other"))
  print(f"launcher sweep: {tried} cases tried: {counts['clean']} clean one line "
        f"({counts['as expected']} with the expected words), {counts['traceback']} traceback, "
        f"{counts['accepted']} silent acceptance, {counts['other']} other")
  for name, what in odd.items():
    print(f"  not clean or not the expected line: {name}: {what}")
  print(f"other launcher tests in tests/test_bad_inputs.py: {len(others)}; kinds in all: "
        f"{len(CASES) + len(others)}")
  return 1 if odd else 0


if __name__ == "__main__":
  sys.exit(main())
