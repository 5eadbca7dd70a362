"""The command line of the `python -m framework.tools.*` commands: a usage error is one line
on stderr and exit status 2, like every other bad input of these commands."""

from __future__ import annotations

import argparse
from typing import NoReturn


class ToolParser(argparse.ArgumentParser):
  """argparse, with a usage error in one line naming the command and pointing at --help."""

  def error(self, message: str) -> NoReturn:
    self.exit(2, f"{self.prog}: error: {message}; see --help\n")
