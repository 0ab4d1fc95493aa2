"""Per-label thresholds (predictor/thresholds.py): chosen by cross-validation on validation rows, checked against
sklearn's F1 and against thresholds worked out by hand."""
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.metrics import f1_score

from predictor import thresholds


def rows(n_per_label=(40, 40, 3), seed=0):
    """Validation truth and probabilities for three labels: `common` sits on either side of 0.5, `shy` is a label the
    model gives low probabilities (its positives at 0.2-0.35, its negatives at 0.0-0.15), `rare` has 3 positives."""
    rng = np.random.default_rng(seed)
    n = 200
    y = np.zeros((n, 3), dtype=int)
    for j, positives in enumerate(n_per_label):
        y[rng.choice(n, positives, replace=False), j] = 1
    p = np.empty((n, 3))
    p[:, 0] = np.where(y[:, 0] == 1, rng.uniform(0.6, 0.95, n), rng.uniform(0.05, 0.4, n))
    p[:, 1] = np.where(y[:, 1] == 1, rng.uniform(0.2, 0.35, n), rng.uniform(0.0, 0.15, n))
    p[:, 2] = np.where(y[:, 2] == 1, rng.uniform(0.2, 0.3, n), rng.uniform(0.0, 0.15, n))
    return y, p


def test_a_label_the_model_is_shy_of_gets_a_threshold_below_its_positives_and_a_rare_one_the_shared_one():
    y, p = rows()
    chosen, how = thresholds.choose(y, p)
    assert how["chosen"] == "per_label"
    assert 0.15 <= chosen[1] <= 0.2  # between the shy label's negatives (<= 0.15) and positives (>= 0.2)
    shared = max(thresholds.GRID, key=lambda t: (f1_score(y, p >= t, average="micro"), -abs(t - 0.5)))
    assert chosen[2] == pytest.approx(shared)  # 3 positives are too few to place a bar: the shared one
    assert how["validation"]["per_label"]["macro_f1"] > how["validation"]["default"]["macro_f1"]


def test_well_separated_labels_keep_the_default_since_ties_go_to_the_simpler_rule():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, (100, 4))
    p = np.where(y == 1, rng.uniform(0.7, 1.0, y.shape), rng.uniform(0.0, 0.3, y.shape))
    chosen, how = thresholds.choose(y, p)
    assert how["chosen"] == "default" and chosen == [0.5] * 4
    assert set(how["cross_validated_micro_f1"].values()) == {1.0}


def test_the_cross_validated_scores_are_each_rule_fitted_on_one_half_and_scored_by_sklearn_on_the_other():
    y, p = rows(seed=3)
    _, how = thresholds.choose(y, p)
    halves = np.arange(len(y)) % 2 == 0
    for rule in thresholds.RULES:
        by_sklearn = np.mean([f1_score(y[~part], p[~part] >= thresholds.fit(rule, y[part], p[part]), average="micro")
                              for part in (halves, ~halves)])
        assert how["cross_validated_micro_f1"][rule] == pytest.approx(by_sklearn, abs=1e-5)


def test_micro_and_macro_f1_equal_sklearns():
    y, p = rows(seed=4)
    predicted = p >= 0.25
    assert thresholds.micro_f1(y, predicted) == pytest.approx(f1_score(y, predicted, average="micro"))
    assert thresholds.macro_f1(y, predicted) == pytest.approx(f1_score(y, predicted, average="macro",
                                                                       zero_division=0))


def test_a_models_thresholds_come_from_its_record_and_older_folders_say_why_they_have_none():
    classes = ["price", "quality"]
    chosen = SimpleNamespace(classes=classes, multilabel=True, thresholds=[0.3, 0.65], version=6,
                             threshold_choice={})
    own = thresholds.Thresholds.of_model(chosen)
    assert own.chosen and own.of("quality") == 0.65 and own.single is None
    assert own.describe() == "per label, 0.30 to 0.65 (chosen on the validation rows)"
    assert thresholds.why_none(chosen) is None
    old = SimpleNamespace(classes=classes, multilabel=True, thresholds=[], version=5, threshold_choice={})
    assert thresholds.Thresholds.of_model(old) == thresholds.Thresholds.uniform(0.5, classes)
    assert "saved before thresholds were chosen per label" in thresholds.why_none(old)
    few = SimpleNamespace(classes=classes, multilabel=True, thresholds=[], version=6,
                          threshold_choice={"why": "4 validation rows are too few"})
    assert thresholds.why_none(few).endswith("4 validation rows are too few.")
    assert thresholds.Thresholds.uniform(0.4, classes).describe() == "0.40 for every label"
