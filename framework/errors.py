"""The one error type a user sees: a bad configuration or bad input data; and the words
that describe bad input in its one line."""

import numpy as np


class ConfigError(ValueError):
  """Bad user input. The message is one line naming the field, the value and what is allowed.

  The launcher prints it without a traceback and exits non-zero.
  """


class Diverged(RuntimeError):
  """The loss or a gradient went non-finite and the run stopped (exit status 3).

  Nothing non-finite reached the model, the optimizer, the weight tables or a checkpoint.
  """


def one_line(error: BaseException | str, limit: int = 200) -> str:
  """An exception (or text) collapsed into one short line, for a ConfigError."""
  text = " ".join(str(error).split()) or type(error).__name__
  return text if len(text) <= limit else text[:limit - 3] + "..."


def nonfinite_rows(x: np.ndarray) -> str:
  """'rows 1, 4 (2 of 6)': the examples of `x` [n, ...] holding NaN or infinity ('' for none)."""
  if x.dtype.kind != "f" or np.all(np.isfinite(x)):
    return ""
  rows = np.flatnonzero(~np.all(np.isfinite(x.reshape(len(x), -1)), axis=1))
  shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
  return f"rows {shown} ({len(rows)} of {len(x)})"
