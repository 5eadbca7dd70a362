"""Which devices a sweep's worker process sees: one GPU each when GPUs are visible, else a
share of the CPU cores (TensorFlow's intra- and inter-op thread pools, set through the
TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS variables it reads at start-up).

On CPU a run's numbers depend on the intra-op thread count (reductions split differently),
so a run launched alone reproduces a sweep's run bit for bit with the same thread count.
"""

from __future__ import annotations

import os
import shutil
import subprocess

THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def visible_gpus() -> list[str]:
  """The GPU ids this process may use: CUDA_VISIBLE_DEVICES when set, else nvidia-smi's."""
  given = os.environ.get("CUDA_VISIBLE_DEVICES")
  if given is not None:
    return [g.strip() for g in given.split(",") if g.strip() and g.strip() != "-1"]
  if not shutil.which("nvidia-smi"):
    return []
  try:
    listed = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
                            capture_output=True, text=True, timeout=30, check=True).stdout
  except (OSError, subprocess.SubprocessError):
    return []
  return [line.strip() for line in listed.splitlines() if line.strip()]


def cpu_threads(workers: int, requested: int = 0) -> int:
  """Threads per worker: `requested`, else this process's cores split among the workers."""
  return requested or max(1, len(os.sched_getaffinity(0)) // workers)


def worker_env(slot: int, gpus: list[str], threads: int) -> dict[str, str]:
  """The environment of worker `slot`: its GPU (round-robin), or with no GPU its CPU thread
  counts, unless the caller's environment already sets them."""
  env = dict(os.environ)
  if gpus:
    env["CUDA_VISIBLE_DEVICES"] = gpus[slot % len(gpus)]
  else:
    for name in THREAD_VARIABLES:
      env.setdefault(name, str(threads))
  return env


def describe(workers: int, gpus: list[str], threads: int) -> str:
  """One line: what each worker gets."""
  if gpus:
    return f"{workers} worker(s), one GPU each of {','.join(gpus)}"
  given = [os.environ[n] for n in THREAD_VARIABLES if n in os.environ]
  return (f"{workers} worker(s) on CPU, "
          f"{'TF threads as set in the environment' if given else f'{threads} TF thread(s) each'}")
