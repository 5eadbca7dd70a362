"""The one error type a user sees: a bad configuration or bad input data."""


class ConfigError(ValueError):
  """Bad user input. The message is one line naming the field, the value and what is allowed.

  The launcher prints it without a traceback and exits non-zero.
  """
