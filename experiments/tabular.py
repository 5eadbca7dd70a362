r"""Your own tabular data (csv or npz), e.g. fraud detection, trained as it is.

  python launch.py --config=experiments/tabular.py --config.data.path=transactions.csv
  python launch.py --config=experiments/tabular.py:ce --config.data.path=train.csv \
      --config.data.test_path=test.csv --config.data.label_column=is_fraud
  python launch.py --config=experiments/tabular.py --config.data.source=npz \
      --config.data.path=features.npz

csv: a header row, one numeric column per feature, the labels in `data.label_column`
("label"): names ("neg" / "pos", sorted into class ids, or ordered by
`data.class_names=('neg','pos')`) or integers (ids other than 0..C-1, e.g. 1, 2, 3, 5, 6, 7,
mapped to 0..K-1 in sorted order and announced; framework/data/labels.py has the rules),
optionally importance scores in `data.importance_column`.
npz (`data.source=npz`; a .npz path with the csv source is an error saying so): features
[n, D] under `x`, labels under `y`. Features are standardised with the mean and std of the
training pool (the test split excluded); the exported model applies the same scaling, so
`python -m framework.tools.predict WORKDIR --data=new.csv` takes raw rows. Without
`data.test_path`, a seeded stratified 25% of the file is the test split.

No protocol transforms: no long-tail cut, no label noise (set data.long_tail.* /
data.noise.* to study them; each is then announced with its counts). A stratified 20% of
the training pool (`data.val_fraction`, every class kept in both parts) is a clean
validation split for early stopping: training stops when the validation balanced accuracy
has not improved for 20 epochs (`train.early_stopping.*`) and ends with the weights of the
best epoch; results.json records early_stopping.best_epoch and .stopped_epoch.
Model: an MLP 64-64 (ReLU), Adam 1e-3, batch 64, at most 200 epochs, evaluation every epoch.
Variants: "balanced" (default, inverse-frequency class weights N / (C n_c), scikit-learn's
class_weight="balanced"), "ce" (unweighted cross-entropy), "ldam_drw" (LDAM, s 30, max
margin 0.5, on a cosine head; class-balanced weights, beta 0.9999, from epoch 20) and
"logit_adjusted" (tau 1).

With 2 classes the run also reports PR-AUC (average precision), ROC-AUC and F1 of the
positive class: by default the minority class by training counts, whatever its label;
`--config.eval.positive_class=1` picks a class id. results.json records it as
final.positive_class.

Measured with these defaults on mlbench's Glass, Pima, Sonar, Satellite and Shuttle: the
README's table (`python -m framework.bench.mlbench_tables`). Measured with the former
defaults (30 epochs, no validation split, no early stopping: `--config.train.epochs=30
--config.data.val_fraction=0 --config.train.early_stopping.metric=
--config.train.eval_every_epochs=5`; seed 0, 40 s a run on a shared 2-core CPU):
scikit-learn's breast-cancer data written as csv (569 rows, 30 features, minority label 0 =
malignant): "balanced" balanced accuracy 0.985, PR-AUC of class 0 0.996; "ce" 0.966, 0.996.
A synthetic csv of 4,000 rows, 2.5% of them label 0 (`write_csv` in tests/test_tabular.py,
shift -1): "balanced" recall of class 0 0.80, balanced accuracy 0.840, PR-AUC 0.449; "ce"
0.36, 0.674, 0.415.
"""

from framework.config import base_config, with_variant

VARIANTS = {
    "balanced": {"class_weights.scheme": "inverse_frequency"},
    "ce": {},
    "ldam_drw": {"class_weights.scheme": "effective_number",
                 "class_weights.kwargs": {"beta": 0.9999}, "class_weights.start_epoch": 20,
                 "loss.name": "ldam", "loss.kwargs": {"max_margin": 0.5, "scale": 30.0},
                 "model.kwargs": {"hidden": (64, 64), "head": "cosine"}},
    "logit_adjusted": {"loss.name": "logit_adjusted", "loss.kwargs": {"tau": 1.0}},
}


def get_config(variant=None):
  c = base_config()
  c.data.source = "csv"
  c.data.long_tail.profile = "none"
  c.data.long_tail.imbalance_ratio = 1.0
  c.data.noise.kind = "none"
  c.data.noise.rate = 0.0
  c.data.val_per_class = 0
  c.data.val_fraction = 0.2
  c.model.name = "mlp"
  c.model.kwargs = {"hidden": (64, 64)}
  c.train.batch_size = 64
  c.train.epochs = 200
  c.train.eval_every_epochs = 1
  c.train.early_stopping.metric = "balanced_accuracy"
  c.train.early_stopping.patience = 20
  return with_variant(c, VARIANTS, variant, default="balanced")
