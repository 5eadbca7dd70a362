"""The name of every file a run writes in its workdir, spelled once.

    WORKDIR/
      config.json          the run's config (written once, at the start)
      data_fingerprint.json   what the run trains on (written once, just before config.json;
                           framework.data.fingerprint): relaunches and readers compare it
      data.json            class names, input shape and transform (what predicting needs)
      noise.npz            noise_mask, labels, clean_labels (when label noise was injected)
      labels.npy           the observed training labels
      tracked.json         class names and the samples whose trajectories are logged
      history.jsonl        one record per evaluation (scalar metrics, step, epoch)
      relaunches.jsonl     the fields each relaunch changed
      results.json         the final metrics, best and last accuracy, history, class names
                           and counts, config
      best.json, best.keras    the model best on validation (eval.select_best)
      early_stopping.json, early_stopping.weights.h5   the best validation step and its
                           weights, whether training stopped early (train.early_stopping)
      model.keras, saved_model/   the exported final model
      weights/step_<step>.npz     snapshots of the weight tables ('per_sample/weight', ...)
      checkpoints/         tf.train.CheckpointManager's
      charted.json         the TensorBoard families that have moved so far
      sweep.log            the output of the run's process when a sweep launched it
      events.out.tfevents.*, hparams/, classes/ (opt-in)   TensorBoard (see
                           framework.summaries.board)
"""

import glob
import os
import re

CONFIG = "config.json"
DATA_FINGERPRINT = "data_fingerprint.json"
DATA = "data.json"
NOISE = "noise.npz"
LABELS = "labels.npy"
TRACKED = "tracked.json"
HISTORY = "history.jsonl"
RELAUNCHES = "relaunches.jsonl"
RESULTS = "results.json"
BEST = "best.json"
BEST_MODEL = "best.keras"
EARLY_STOPPING = "early_stopping.json"
EARLY_STOPPING_WEIGHTS = "early_stopping.weights.h5"
MODEL = "model.keras"
SAVED_MODEL = "saved_model"
SNAPSHOTS = "weights"
CHECKPOINTS = "checkpoints"
CHARTED = "charted.json"
SWEEP_LOG = "sweep.log"


def numbered_checkpoints(directory: str) -> list[tuple[int, str]]:
  """(step, prefix) of every checkpoint in a run's checkpoints folder, by step (the
  controller numbers them `ckpt-<step>`)."""
  numbered = []
  for index in glob.glob(os.path.join(directory, "ckpt-*.index")):
    match = re.match(r"^ckpt-(\d+)\.index$", os.path.basename(index))
    if match:
      numbered.append((int(match.group(1)), index[:-len(".index")]))
  return sorted(numbered)
