"""The workdir contract: file names, atomic writes, the lock, and reading a finished run."""

from framework.runs import files
from framework.runs.reader import FinishedRun
from framework.runs.rundir import RunDir

__all__ = ["FinishedRun", "RunDir", "files"]
