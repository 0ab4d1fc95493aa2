"""Probabilities that mean what they say: a temperature fitted on the validation rows, and how far off they were.

A blend of two members' probabilities is not calibrated: nothing made 0.9 mean "right 9 times in 10". A temperature
divides the log-odds before they become probabilities again: one number for a single-label model (its
log-probabilities, then softmax), one per label for a multi-label model (each label's logit, then the sigmoid). It
is the method Guo et al. 2017 ("On Calibration of Modern Neural Networks") found best among those they compared,
and it never changes a label: the order of a text's classes is kept, and a label's probability stays on its side of
0.5, the default threshold. It is fitted by the log loss on the validation rows that also chose the blend, so the
error after it is measured on the rows it was fitted on: a little optimistic (bench measures it on test rows).

Expected calibration error (ECE, 15 equal-width bins, as Guo et al.): single-label, the mean gap between the
confidence (the winning class's probability) and the accuracy within each bin, weighted by the bin's rows;
multi-label, the same over every (text, label) pair, between each label's probability and how often it applies.
"""
from __future__ import annotations

import numpy as np

BINS = 15
# Temperatures tried: a wide range on a log scale (0.05 sharpens a lot, 20 flattens to near uniform), then the best
# is refined between its neighbours. Finer steps changed the log loss by less than 1e-4 on the sample.
GRID = np.geomspace(0.05, 20.0, 121)
EPSILON = 1e-7  # probabilities are clipped away from 0 and 1 before their logs are taken
NONE: list[float] = []  # no temperature: probabilities as blended (folders saved before calibration, tiny validation)


def apply(probabilities: np.ndarray, temperatures: list[float], multilabel: bool) -> np.ndarray:
    """`probabilities` with their log-odds divided by the temperature(s); unchanged when there are none."""
    if not temperatures:
        return probabilities
    p = np.clip(np.asarray(probabilities, np.float64), EPSILON, 1 - EPSILON)
    t = np.asarray(temperatures, np.float64)
    if multilabel:
        return (1 / (1 + np.exp(-np.log(p / (1 - p)) / t))).astype(np.float32)
    logits = np.log(p) / t
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def fit(y: np.ndarray, probabilities: np.ndarray, multilabel: bool) -> list[float]:
    """The temperature(s) with the lowest log loss on rows `y` (class indices, or the 0/1 matrix for multi-label)."""
    if multilabel:
        return [_best(lambda t, j=j: _log_loss(y[:, [j]], apply(probabilities[:, [j]], [t], True), True))
                for j in range(probabilities.shape[1])]
    return [_best(lambda t: _log_loss(y, apply(probabilities, [t], False), False))]


def expected_calibration_error(y: np.ndarray, probabilities: np.ndarray, multilabel: bool, bins: int = BINS) -> float:
    confidence, correct = _pairs(y, probabilities, multilabel)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            error += inside.sum() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(error / len(confidence))


def reliability(y: np.ndarray, probabilities: np.ndarray, multilabel: bool, bins: int = BINS) -> list[dict]:
    """Per bin with rows: its mean confidence, how often that was right, and its rows (the reliability diagram)."""
    confidence, correct = _pairs(y, probabilities, multilabel)
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    return [{"confidence": float(confidence[which == b].mean()), "observed": float(correct[which == b].mean()),
             "rows": int((which == b).sum())} for b in range(bins) if (which == b).any()]


def _pairs(y, probabilities, multilabel):
    """(confidence, 1 where it came true, else 0), one pair per text (single-label) or per text and label."""
    probabilities = np.asarray(probabilities, np.float64)
    if multilabel:
        return probabilities.ravel(), np.asarray(y, np.float64).ravel()
    return probabilities.max(axis=1), (probabilities.argmax(axis=1) == np.asarray(y)).astype(np.float64)


def _log_loss(y, probabilities, multilabel) -> float:
    p = np.clip(np.asarray(probabilities, np.float64), EPSILON, 1 - EPSILON)
    if multilabel:
        return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())
    return float(-np.log(p[np.arange(len(y)), np.asarray(y)]).mean())


def _best(loss) -> float:
    losses = [loss(t) for t in GRID]
    i = int(np.argmin(losses))
    fine = np.geomspace(GRID[max(i - 1, 0)], GRID[min(i + 1, len(GRID) - 1)], 41)
    return round(float(min(fine, key=loss)), 4)
