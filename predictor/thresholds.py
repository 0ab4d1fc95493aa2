"""Where a multi-label model says "yes": one threshold per label, chosen on the validation rows, and its override.

A probability of 0.5 is a poor bar for every label at once. GoEmotions' 28 labels range from 0.2% of its training
comments (grief) to 33% (neutral): a rare label's calibrated probability rarely reaches 0.5, so at one bar the rare
labels are hardly ever given and macro-F1 stays low. A threshold per label fixes that, but chosen on the rows it is
judged on it overfits, as per-label blend weights did (predictor/hybrid.py). So, like the blend, the rule is chosen by
2-fold cross-validation on the validation rows, among:

- "default": 0.5 for every label, as before thresholds were chosen;
- "shared": one threshold for every label, the one with the best micro-F1;
- "per_label": each label's threshold with the best F1 for that label; a label with fewer than MIN_POSITIVES
  positives in the rows it is chosen on takes the shared threshold, since three examples cannot place a bar.

Each rule is fitted on one half and scored (micro-F1, the headline of multi-label) on the other, both ways; the best
mean wins, ties going to the simpler rule, and is fitted again on all validation rows. Thresholds are chosen on the
calibrated probabilities (predictor/calibration.py), which are the ones scoring compares with them.

A user may still set one threshold for every label (the page's slider, score.py --threshold): `Thresholds.uniform`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT = 0.5  # a label is given when its probability reaches this, unless the model chose its own thresholds
GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)  # the thresholds tried: the page's slider steps
MIN_POSITIVES = 5  # fewer positives than this in the rows a threshold is chosen on: the shared threshold instead
RULES = ("default", "shared", "per_label")  # simplest first: ties go to the earlier one
CHOSEN_SINCE = 6  # the model folder version (predictor/model_folder.py) from which training chooses thresholds


@dataclass(frozen=True)
class Thresholds:
    """One threshold per class of a multi-label model, in the model's class order, and where they came from."""

    classes: tuple[str, ...]
    values: tuple[float, ...]
    chosen: bool  # True: the model's own, chosen on its validation rows; False: one value for all labels

    @classmethod
    def uniform(cls, value: float, classes: list[str]) -> "Thresholds":
        return cls(tuple(classes), tuple([float(value)] * len(classes)), chosen=False)

    @classmethod
    def of_model(cls, record) -> "Thresholds":
        """The thresholds a model chose (training.json `thresholds`), or DEFAULT for every label in folders saved
        before they were chosen (and for single-label models, which take the top class and need none)."""
        if record.thresholds:
            return cls(tuple(record.classes), tuple(float(t) for t in record.thresholds), chosen=True)
        return cls.uniform(DEFAULT, record.classes)

    def of(self, cls: str) -> float:
        return self.values[self.classes.index(cls)]

    @property
    def array(self) -> np.ndarray:
        return np.asarray(self.values, dtype=float)

    @property
    def single(self) -> float | None:
        """The one value every label uses, or None when they differ."""
        return self.values[0] if len(set(self.values)) == 1 else None

    def describe(self) -> str:
        """In a sentence's words: "0.50 for every label", "per label, 0.15 to 0.60 (chosen on validation rows)"."""
        if self.single is not None:
            return f"{self.single:.2f} for every label"
        return f"per label, {min(self.values):.2f} to {max(self.values):.2f} (chosen on the validation rows)"


def why_none(record) -> str | None:
    """For a multi-label model without thresholds of its own, why, and what every label uses instead; else None."""
    if not record.multilabel or record.thresholds:
        return None
    if record.version < CHOSEN_SINCE:
        return (f"This model was saved before thresholds were chosen per label, so every label uses {DEFAULT}. "
                "Retrain it (python train.py ...) to have them chosen on its validation rows.")
    return f"This model chose no thresholds of its own: {record.threshold_choice.get('why', '')}."


def choose(y: np.ndarray, probabilities: np.ndarray) -> tuple[list[float], dict]:
    """Per-label thresholds for validation rows `y` (0/1, rows x labels) and the model's calibrated probabilities
    there, and a record of how they were chosen: see the module's docstring."""
    y, probabilities = np.asarray(y, dtype=int), np.asarray(probabilities, dtype=float)
    halves = np.arange(len(y)) % 2 == 0  # rows alternate between the two halves, as the blend's
    cross = {rule: float(np.mean([micro_f1(y[~part], probabilities[~part] >= fit(rule, y[part], probabilities[part]))
                                  for part in (halves, ~halves)]))
             for rule in RULES}
    winner = max(RULES, key=lambda rule: (round(cross[rule], 6), -RULES.index(rule)))
    at = {rule: fit(rule, y, probabilities) for rule in RULES}  # each rule fitted again on all validation rows
    scores = {rule: {"micro_f1": round(micro_f1(y, probabilities >= at[rule]), 5),
                     "macro_f1": round(macro_f1(y, probabilities >= at[rule]), 5)} for rule in RULES}
    return [float(t) for t in at[winner]], {
        "rule": "0.5 for every label, one shared threshold or one per label (labels with fewer than "
                f"{MIN_POSITIVES} positives take the shared one): the best micro-F1 in 2-fold cross-validation on "
                "the validation rows, chosen again on all of them",
        "cross_validated_micro_f1": {rule: round(score, 5) for rule, score in cross.items()},
        "validation": scores, "chosen": winner}


def fit(rule: str, y: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """The thresholds `rule` picks on rows `y`, one per label."""
    labels = y.shape[1]
    if rule == "default":
        return np.full(labels, DEFAULT)
    shared = max(GRID, key=lambda t: (micro_f1(y, probabilities >= t), -abs(t - DEFAULT)))
    if rule == "shared":
        return np.full(labels, shared)
    out = np.full(labels, shared)
    for j in range(labels):
        if y[:, j].sum() >= MIN_POSITIVES:
            out[j] = max(GRID, key=lambda t: (f1(y[:, j], probabilities[:, j] >= t), -abs(t - shared)))
    return out


def f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of 0/1 `truth` against boolean `predicted` over all their cells: one label's F1, or a matrix's micro-F1."""
    tp = int((predicted & (truth == 1)).sum())
    return 2 * tp / max(1, int(predicted.sum()) + int(truth.sum()))


micro_f1 = f1


def macro_f1(y: np.ndarray, predicted: np.ndarray) -> float:
    """The mean of the labels' F1s: every label counts the same, however rare."""
    return float(np.mean([f1(y[:, j], predicted[:, j]) for j in range(y.shape[1])]))
