"""Scripts that produce the README's result tables: python -m framework.studies.<name>."""

from absl import flags


def define_seeds_flag(default: list[str]) -> flags.FlagHolder:
  """--seeds: comma-separated non-negative integers (config.seed and data.seed of each run)."""
  holder = flags.DEFINE_list("seeds", default, "Seeds (config.seed and data.seed).")
  flags.register_validator("seeds", lambda seeds: all(s.strip().isdigit() for s in seeds),
                           "must be non-negative integers separated by commas, e.g. 0,1,2")
  return holder
