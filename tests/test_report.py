"""The report over runs: its table is the seeds' mean ± sample std by variant and setting,
its figures carry labelled axes and class names, bad input is one line and exit code 2,
and TensorBoard's HParams view lists every run of a root side by side."""

import contextlib
import csv
import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from framework.config import base_config, load_experiment, set_fields
from framework.report import __main__ as command
from framework.report import collect_runs, figures, group_runs, summary_table
from framework.runs import RunDir, files

CLASSES = ["cat", "dog", "bird"]
COUNTS = [120, 40, 8]


def fake_run(workdir, variant="ce", seed=0, final=None, best_last=None, history=(),
             finished=True, noise_mask=None, snapshots=(), **fields):
  """A workdir with the files a finished run writes that the report reads: config.json
  (the full config, `fields` set as 'a__b'), results.json, history.jsonl, and optionally
  noise.npz and weight snapshots {step: per-sample weights}."""
  config = base_config()
  config.variant, config.seed, config.data.seed = variant, seed, seed
  set_fields(config, fields)
  run = RunDir(str(workdir))
  run.create()
  run.write_json(files.CONFIG, config.to_dict())
  run.write_json(files.DATA, {"class_names": CLASSES})
  for record in history:
    run.append_record(files.HISTORY, record)
  if noise_mask is not None:
    run.write_arrays(files.NOISE, noise_mask=noise_mask, labels=np.zeros(len(noise_mask), int),
                     clean_labels=np.zeros(len(noise_mask), int))
  for step, weight in snapshots:
    run.write_snapshot(step, {"per_sample/weight": np.asarray(weight, np.float32)})
  if finished:
    results = {"step": 20, "epochs": 2.0, "final": final or {}, "class_names": CLASSES,
               "class_counts": COUNTS, "history": list(history), "config": config.to_dict()}
    if best_last is not None:
      results["best_last"] = best_last
    run.write_json(files.RESULTS, results)
  return str(workdir)


def _final(balanced, f1=0.5, recall=(0.9, 0.5, 0.1), **more):
  return {"balanced_accuracy": balanced, "macro_f1": f1, "min_recall": min(recall),
          "per_class_recall": list(recall), **more}


def _report(tmp_path, *runs_args):
  """(exit status, stdout, stderr) of `python -m framework.report`, in this process."""
  out, err = io.StringIO(), io.StringIO()
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    status = command.main(["--runs", *runs_args, "--out", str(tmp_path / "report")])
  return status, out.getvalue(), err.getvalue()


def _rows(path):
  with open(path) as f:
    return list(csv.DictReader(f))


def test_table_is_mean_and_sample_std_over_seeds_by_variant(tmp_path):
  for seed, (balanced, f1) in enumerate([(0.5, 0.4), (0.6, 0.5), (0.7, 0.9)]):
    fake_run(tmp_path / "runs" / "ce" / f"seed{seed}", "ce", seed, _final(balanced, f1),
             {"best_accuracy": balanced + 0.1, "last_accuracy": balanced})
  fake_run(tmp_path / "runs" / "cb" / "seed0", "cb", 0, _final(0.8),
           class_weights__scheme="inverse_frequency")
  status, out, err = _report(tmp_path, str(tmp_path / "runs"))
  assert status == 0, err
  table = (tmp_path / "report" / "table.md").read_text().splitlines()
  # the scheme changes only with the variant: not a setting column; seeds are not either
  assert table[0] == ("| variant | balanced accuracy (%) | macro-F1 (%) | min recall (%) | "
                      "best accuracy (%) | last accuracy (%) | seeds |")
  assert "| cb | 80.0 | 50.0 | 10.0 | - | - | 1 |" in table
  assert ("| ce | 60.0 ± 10.0 | 60.0 ± 26.5 | 10.0 ± 0.0 | 70.0 ± 10.0 | 60.0 ± 10.0 | 3 |"
          in table)
  assert table[2] in out
  ce = next(r for r in _rows(tmp_path / "report" / "table.csv") if r["variant"] == "ce")
  assert float(ce["macro_f1_std"]) == pytest.approx(100 * np.std([0.4, 0.5, 0.9], ddof=1))
  assert ce["seeds"] == "3"
  cb = next(r for r in _rows(tmp_path / "report" / "table.csv") if r["variant"] == "cb")
  assert cb["balanced_accuracy_std"] == "" and cb["best_accuracy_mean"] == ""


def test_a_field_varied_within_a_variant_is_a_setting(tmp_path):
  for rate in (0.2, 0.4):
    for seed in (0, 1):
      fake_run(tmp_path / f"r{rate}" / f"s{seed}", "ce", seed,
               _final(rate + 0.1 * seed, ece=0.1 * seed), data__noise__rate=rate,
               model__init_from=f"/runs/base/seed{seed}")
  groups = group_runs(collect_runs([str(tmp_path / "r*" / "s*")]).runs)
  assert [(g.variant, g.setting, len(g.runs)) for g in groups] == [
      ("ce", {"data.noise.rate": "0.2"}, 2), ("ce", {"data.noise.rate": "0.4"}, 2)]
  lines = summary_table(groups).to_markdown().splitlines()
  assert lines[0].startswith("| variant | data.noise.rate | balanced accuracy (%) |")
  assert "ECE (%)" in lines[0] and "many-shot" not in lines[0]  # only what runs recorded
  assert lines[3].startswith("| ce | 0.4 | 45.0 ± 7.1 |")


def test_a_shot_group_without_classes_is_left_out_of_its_cell(tmp_path):
  for seed, few in enumerate([None, 0.3, 0.5]):  # results.json holds NaN as null
    fake_run(tmp_path / f"s{seed}", "ce", seed, _final(0.5, few_shot_accuracy=few))
  table = summary_table(group_runs(collect_runs([str(tmp_path)]).runs))
  assert table.rows[0].cells["few_shot_accuracy"].text() == "40.0 ± 14.1"
  assert table.rows[0].cells["few_shot_accuracy"].count == 2


def test_a_post_hoc_evaluation_is_a_row_of_its_own(tmp_path):
  for seed, (plain, adjusted) in enumerate([(0.5, 0.7), (0.6, 0.9)]):
    final = {**_final(plain), "posthoc/balanced_accuracy": adjusted, "posthoc/macro_f1": 0.5,
             "posthoc/min_recall": 0.2}
    fake_run(tmp_path / "posthoc" / f"s{seed}", "posthoc", seed, final,
             {"best_accuracy": 0.8, "last_accuracy": 0.7})
  fake_run(tmp_path / "ce" / "s0", "ce", 0, _final(0.4))
  status, out, err = _report(tmp_path, str(tmp_path / "posthoc"), str(tmp_path / "ce"))
  assert status == 0, err
  assert out.splitlines()[:5] == [
      "| variant | evaluation | balanced accuracy (%) | macro-F1 (%) | min recall (%) | "
      "best accuracy (%) | last accuracy (%) | seeds |",
      "|---|---|---:|---:|---:|---:|---:|---:|",
      "| posthoc | plain | 55.0 ± 7.1 | 50.0 ± 0.0 | 10.0 ± 0.0 | 80.0 ± 0.0 | 70.0 ± 0.0 "
      "| 2 |",
      "| posthoc | posthoc | 80.0 ± 14.1 | 50.0 ± 0.0 | 20.0 ± 0.0 | - | - | 2 |",
      "| ce | plain | 40.0 | 50.0 | 10.0 | - | - | 1 |"]
  rows = _rows(tmp_path / "report" / "table.csv")
  assert [(r["variant"], r["evaluation"]) for r in rows] == [
      ("posthoc", "plain"), ("posthoc", "posthoc"), ("ce", "plain")]


def test_unfinished_runs_are_left_out_with_a_note(tmp_path):
  fake_run(tmp_path / "done", final=_final(0.5))
  fake_run(tmp_path / "live", finished=False)
  status, out, err = _report(tmp_path, str(tmp_path))
  assert status == 0
  assert f"note: left out {tmp_path / 'live'}: no results.json" in err
  assert "the run has not finished" in (tmp_path / "report" / "report.md").read_text()
  assert "| ce | 50.0 |" in out


@pytest.mark.parametrize("make, given, expected", [
    (lambda p: None, "{p}/nothing_*", "matches no folder"),
    (lambda p: None, "{p}/missing", "does not exist"),
    (lambda p: (p / "a_file").write_text("x"), "{p}/a_file", "is not a folder"),
    (lambda p: (p / "empty").mkdir(), "{p}/empty", "is not a run workdir and holds none"),
    (lambda p: fake_run(p / "live", finished=False), "{p}/live", "none of the 1 runs matched "
     "has finished"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, make, given, expected):
  make(tmp_path)
  status, out, err = _report(tmp_path, given.format(p=tmp_path))
  assert status == 2 and not out
  assert len(err.strip().splitlines()) == 1 and err.startswith("report: --runs")
  assert expected in err


def test_an_out_that_is_a_file_is_one_line_and_exit_code_2(tmp_path):
  fake_run(tmp_path / "run", final=_final(0.5))
  (tmp_path / "report").write_text("not a folder")
  status, out, err = _report(tmp_path, str(tmp_path / "run"))
  assert status == 2 and not out
  assert err == (f"report: --out={str(tmp_path / 'report')!r} is a file; allowed: a folder "
                 "(made if missing)\n")


def test_names_are_runs_roots_or_globs_each_run_once(tmp_path):
  for name in ("a/seed0", "a/seed1", "b/deep/seed0"):
    fake_run(tmp_path / name, final=_final(0.5))
  (tmp_path / "a" / "seed0" / "nested").mkdir()  # a run's own folders are not searched
  status, out, err = _report(tmp_path, f"{tmp_path}/a/*,{tmp_path}", str(tmp_path / "b"))
  assert status == 0, err
  assert "| ce | 50.0 ± 0.0 | 50.0 ± 0.0 | 10.0 ± 0.0 | 3 |" in out


def test_without_matplotlib_the_table_is_written_and_one_line_says_how_to_install(
    tmp_path, monkeypatch):
  fake_run(tmp_path / "run", final=_final(0.5))
  monkeypatch.setattr(figures, "have_matplotlib", lambda: False)
  status, out, err = _report(tmp_path, str(tmp_path / "run"))
  assert status == 0
  assert err.strip() == ('note: figures skipped: matplotlib is not installed '
                         '(pip install -e ".[report]")')
  assert (tmp_path / "report" / "table.csv").exists()
  assert not (tmp_path / "report" / "figures").exists()


def _axis_labels(figure):
  return [(ax.get_xlabel(), ax.get_ylabel()) for ax in figure.axes if ax.get_visible()
          and ax.has_data()]


def _check_png(path, min_side=300):
  image = Image.open(path)
  image.load()
  assert min(image.size) >= min_side, image.size
  return image


def test_figures_have_labelled_axes_and_class_names(tmp_path):
  pytest.importorskip("matplotlib")
  mask = np.array([False, False, True, True])
  for seed in (0, 1):
    history = [{"step": s, "epoch": s / 10, "accuracy": 0.3 + 0.1 * s / 10 + 0.01 * seed,
                "balanced_accuracy": 0.4, "ece": 0.1} for s in (10, 20)]
    final = _final(0.5, reliability_accuracy=[None, 0.5, 1.0],
                   reliability_confidence=[None, 0.5, 0.9], reliability_count=[0, 4, 6])
    fake_run(tmp_path / f"s{seed}", "ce", seed, final, history=history, noise_mask=mask,
             snapshots=[(10, [1.0, 0.8, 0.5, 0.3]), (20, [1.0, 1.0, 0.1, 0.1 + seed])])
  groups = group_runs(collect_runs([str(tmp_path)]).runs)
  recall = figures.recall_by_count(groups)
  assert _axis_labels(recall) == [("training examples of the class", "test recall (%)")]
  assert recall.axes[0].get_xscale() == "log"
  top = recall.axes[0].child_axes[0]  # the class names at their training counts
  assert [t.get_text() for t in top.get_xticklabels()] == CLASSES
  assert [float(x) for x in top.get_xticks()] == COUNTS
  history = figures.history(groups)
  assert _axis_labels(history) == [("epoch", "test accuracy (%)"),
                                   ("epoch", "test balanced accuracy (%)"),
                                   ("epoch", "test ECE (%)")]
  accuracy = history.axes[0].lines[0].get_ydata()
  np.testing.assert_allclose(accuracy, [100 * (0.4 + 0.005), 100 * (0.5 + 0.005)])
  weights = figures.noise_weights(groups)
  assert _axis_labels(weights) == [("epoch", "mean learned weight (per_sample/weight)")]
  clean, noisy = (line.get_ydata() for line in weights.axes[0].lines)
  np.testing.assert_allclose(clean, [0.9, 1.0])
  np.testing.assert_allclose(noisy, [0.4, 0.35], rtol=1e-6)  # at step 20: 0.1 and 0.6 by seed
  diagram = figures.reliability(groups)
  assert _axis_labels(diagram) == [("confidence (largest softmax probability)", "accuracy")]
  assert "ECE 6.0%" in diagram.axes[0].get_title()  # pooled: 12/20 x |1.0 - 0.9|
  drawn = figures.write_figures(groups, str(tmp_path / "figures"))
  assert drawn == ["recall_by_count", "history", "noise_weights", "reliability"]
  for name in drawn:
    _check_png(tmp_path / "figures" / f"{name}.png")
    assert (tmp_path / "figures" / f"{name}.svg").read_text().lstrip().startswith("<?xml")


def test_runs_without_noise_or_history_draw_only_what_they_recorded(tmp_path):
  pytest.importorskip("matplotlib")
  fake_run(tmp_path / "run", final=_final(0.5))
  groups = group_runs(collect_runs([str(tmp_path)]).runs)
  assert figures.write_figures(groups, str(tmp_path / "figures")) == ["recall_by_count"]


# Real runs: two variants x two seeds of the default digits experiment, one epoch each,
# with label noise and a rule so every figure has data.
VARIANTS, SEEDS = ("ce", "cb"), (0, 1)


@pytest.fixture(scope="module")
def digits_runs(tmp_path_factory):
  from framework import train  # pylint: disable=g-import-not-at-top
  root = tmp_path_factory.mktemp("digits_runs")
  module = load_experiment("default")
  for variant in VARIANTS:
    for seed in SEEDS:
      config = module.get_config(variant)
      config.seed = config.data.seed = seed
      config.train.epochs = config.train.eval_every_epochs = 1
      config.data.noise.kind, config.data.noise.rate = "symmetric", 0.3
      config.rule.name = "loss_ema"
      train.run(config, str(root / variant / f"seed{seed}"), verbose=False)
  return root


def _results(root, variant):
  out = []
  for seed in SEEDS:
    with open(root / variant / f"seed{seed}" / "results.json") as f:
      out.append(json.load(f))
  return out


@pytest.mark.slow
def test_report_of_real_runs_equals_a_hand_computation(digits_runs, tmp_path):
  status, out, err = _report(tmp_path, f"{digits_runs}/*/seed*")
  assert status == 0, err
  rows = {r["variant"]: r for r in _rows(tmp_path / "report" / "table.csv")}
  assert sorted(rows) == sorted(VARIANTS)
  table = (tmp_path / "report" / "table.md").read_text()
  for variant in VARIANTS:
    results = _results(digits_runs, variant)
    assert rows[variant]["seeds"] == str(len(SEEDS))
    for section, key in [("final", "balanced_accuracy"), ("final", "macro_f1"),
                         ("final", "min_recall"), ("final", "many_shot_accuracy"),
                         ("final", "ece"), ("best_last", "best_accuracy"),
                         ("best_last", "last_accuracy")]:
      values = 100 * np.array([r[section][key] for r in results])
      assert float(rows[variant][f"{key}_mean"]) == pytest.approx(values.mean(), abs=1e-9)
      assert float(rows[variant][f"{key}_std"]) == pytest.approx(values.std(ddof=1), abs=1e-9)
    balanced = 100 * np.array([r["final"]["balanced_accuracy"] for r in results])
    assert (f"| {variant} | {balanced.mean():.1f} ± {balanced.std(ddof=1):.1f} |" in table)
  drawn = sorted(os.listdir(tmp_path / "report" / "figures"))
  assert drawn == sorted(f"{name}.{ext}" for name in figures.FIGURES for ext in ("png", "svg"))
  for name in figures.FIGURES:
    _check_png(tmp_path / "report" / "figures" / f"{name}.png")


@pytest.mark.slow
def test_real_runs_draw_labelled_figures_with_the_digit_names(digits_runs):
  pytest.importorskip("matplotlib")
  groups = group_runs(collect_runs([str(digits_runs)]).runs)
  for name, draw in figures.FIGURES.items():
    figure = draw(groups)
    labels = _axis_labels(figure)
    assert labels and all(x and y for x, y in labels), (name, labels)
  top = figures.recall_by_count(groups).axes[0].child_axes[0]
  named = ", ".join(t.get_text() for t in top.get_xticklabels())
  assert sorted(named.split(", ")) == [str(d) for d in range(10)]


def _hparams_sessions(root):
  """{session run: (hparams, {metric tag: value})} as TensorBoard's HParams table lists
  them for the logdir `root` (its plugin reading the event files)."""
  # pylint: disable=g-import-not-at-top
  from tensorboard import context
  from tensorboard.backend.event_processing.data_provider import MultiplexerDataProvider
  from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer
  from tensorboard.plugins import base_plugin
  from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups
  runs = EventMultiplexer(size_guidance={"tensors": 0})
  runs.AddRunsFromDirectory(str(root))
  runs.Reload()
  tb = base_plugin.TBContext(data_provider=MultiplexerDataProvider(runs, str(root)),
                             multiplexer=runs, logdir=str(root))
  request = api_pb2.ListSessionGroupsRequest(start_index=0, slice_size=100,
                                             allowed_statuses=[api_pb2.STATUS_UNKNOWN])
  response = list_session_groups.Handler(context.RequestContext(),
                                         backend_context.Context(tb), "", request).run()
  return {group.sessions[0].name: (group.hparams,
                                   {m.name.tag: m.value for m in group.metric_values})
          for group in response.session_groups}


@pytest.mark.slow
def test_the_hparams_table_lists_every_run_of_a_root_with_its_variant(digits_runs):
  sessions = _hparams_sessions(digits_runs)
  assert sorted(sessions) == sorted(f"{v}/seed{s}/hparams" for v in VARIANTS for s in SEEDS)
  for variant in VARIANTS:
    for seed, results in zip(SEEDS, _results(digits_runs, variant)):
      hparams, metrics = sessions[f"{variant}/seed{seed}/hparams"]
      assert hparams["variant"].string_value == variant
      assert hparams["seed"].number_value == seed
      assert hparams["rule.name"].string_value == "loss_ema"
      assert metrics["final/balanced_accuracy"] == pytest.approx(
          results["final"]["balanced_accuracy"], rel=1e-6)
