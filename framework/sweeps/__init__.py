"""Sweeps: many runs of an experiment (variants x settings x seeds) from one declaration,
in parallel worker processes on one machine or in shards over a job array.
`python -m framework.sweeps.run` runs one; each run is an ordinary, resumable workdir.
"""

from framework.sweeps.declaration import Sweep, load_sweep
from framework.sweeps.plan import PlannedRun, check, finished, plan, shard

__all__ = ["PlannedRun", "Sweep", "check", "finished", "load_sweep", "plan", "shard"]
