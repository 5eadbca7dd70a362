"""The one error type a user sees: a bad configuration or bad input data."""


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
