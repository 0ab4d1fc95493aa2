"""Combining BERT's and NBSVM's probabilities, with the weight chosen on validation rows only.

BERT reads word order but only part of a long text; NBSVM reads every word but no order. Blending them beat both on
IMDB dev rows at 500 and 2,000 training rows (83.9% / 89.05% against BERT 82.8% / 88.5% and NBSVM 81.5% / 88.7%:
bench/results/defaults.json). The weight is chosen
per model from a grid that includes 0 and 1, so on the validation rows the combination is never worse than its best
member.

Multi-label models choose among four blends: one weight per label, one weight shared by all labels, BERT alone and
NBSVM alone, by 2-fold cross-validation on the validation rows. Per-label weights alone overfit: on GoEmotions (28
labels, 1,000 validation rows, some labels with 3 positives), judged on the 4,426 dev rows train.py never saw, they
scored micro-F1 0.5587 against 0.5604 for one shared weight and 0.5604 for BERT alone; cross-validation chose the
shared weight, the best on those dev rows (bench/results/multilabel.json `rules_on_dev`, each rule fitted on the
validation rows as train.py fits it). The rule was first drawn from test rows (bench/results/reblend.json,
2026-12-01); the dev rows confirmed it, and test rows decide nothing since (issue 23).
"""
import numpy as np

from predictor import thresholds

WEIGHT_GRID = np.round(np.linspace(0, 1, 21), 2)  # BERT's weight in steps of 0.05; 0 = NBSVM alone, 1 = BERT alone
EPSILON = 1e-7  # keeps log loss finite for a member that is certain and wrong


def combine(bert: np.ndarray | None, nbsvm: np.ndarray | None, bert_weight: list[float]) -> np.ndarray:
    """w * bert + (1 - w) * nbsvm, per column (a member with no weight may be None)."""
    w = np.asarray(bert_weight, dtype=np.float32)
    if bert is None or not w.any():
        return np.asarray(nbsvm, dtype=np.float32)
    if nbsvm is None or (w == 1).all():
        return np.asarray(bert, dtype=np.float32)
    return (w * bert + (1 - w) * nbsvm).astype(np.float32)


def choose_weights(y: np.ndarray, bert: np.ndarray, nbsvm: np.ndarray, multilabel: bool) -> tuple[list[float], dict]:
    """BERT's weight(s) that score best on validation rows `y`, and a record of how they were chosen.

    Single-label: the weight with the highest accuracy, ties broken by the lower log loss, then towards 0.5 (an even
    blend is the safest bet when validation cannot tell). Multi-label: see the module's docstring.
    """
    y = np.asarray(y)
    if multilabel:
        return cross_validated(y.astype(int), bert, nbsvm)
    truth = y.argmax(axis=1) if y.ndim == 2 else y
    scores = {float(w): _single_label_score(truth, combine(bert, nbsvm, [w])) for w in WEIGHT_GRID}
    best = max(scores, key=lambda w: (scores[w]["accuracy"], -scores[w]["log_loss"], -abs(w - 0.5)))
    return [best], {"rule": "highest validation accuracy, then lowest log loss", "candidates": scores,
                    "chosen": best}


def cross_validated(y: np.ndarray, bert: np.ndarray, nbsvm: np.ndarray) -> tuple[list[float], dict]:
    """Multi-label weights: per-label, shared, BERT alone or NBSVM alone, whichever has the best micro-F1 in 2-fold
    cross-validation on the validation rows, fitted again on all of them; never below either member there."""
    fit = MULTILABEL_RULES
    halves = np.arange(len(y)) % 2 == 0  # rows alternate between the two halves
    cross = {name: float(np.mean([_micro_f1(y[~part], combine(bert[~part], nbsvm[~part],
                                                               choose(y[part], bert[part], nbsvm[part])))
                                  for part in (halves, ~halves)]))
             for name, choose in fit.items()}
    simplest_first = ["bert", "nbsvm", "shared", "per_label"]  # ties go to the choice with fewer weights
    winner = max(cross, key=lambda name: (cross[name], -simplest_first.index(name)))
    weights = {name: fit[name](y, bert, nbsvm) for name in dict.fromkeys([winner, "bert", "nbsvm"])}  # on all rows
    micro = {name: _micro_f1(y, combine(bert, nbsvm, w)) for name, w in weights.items()}
    if micro[winner] < max(micro["bert"], micro["nbsvm"]):  # never worse than a member on all validation rows
        winner = max(("bert", "nbsvm"), key=micro.get)
    return weights[winner], {"rule": "per-label weights, one shared weight, BERT or NBSVM: the best micro-F1 in 2-fold "
                            "cross-validation on the validation rows, chosen again on all of them; never below either "
                            "member's micro-F1 there", "cross_validated_micro_f1": cross, "micro_f1": micro,
                    "chosen": winner}


def _per_label_weights(y: np.ndarray, bert: np.ndarray, nbsvm: np.ndarray) -> list[float]:
    """Per label, the highest F1 at the threshold, then the lowest log loss, then nearest an even blend."""
    weights = []
    for j in range(y.shape[1]):
        scores = {float(w): _binary_score(y[:, j], w * bert[:, j] + (1 - w) * nbsvm[:, j]) for w in WEIGHT_GRID}
        weights.append(max(scores, key=lambda w: (scores[w]["f1"], -scores[w]["log_loss"], -abs(w - 0.5))))
    return weights


def _shared_weight(y: np.ndarray, bert: np.ndarray, nbsvm: np.ndarray) -> list[float]:
    """One weight for every label: the highest micro-F1, then nearest an even blend."""
    scores = {float(w): _micro_f1(y, w * bert + (1 - w) * nbsvm) for w in WEIGHT_GRID}
    return [max(scores, key=lambda w: (scores[w], -abs(w - 0.5)))] * y.shape[1]


# The multi-label candidates: name -> fit(y, bert, nbsvm) giving BERT's weight per label; bench.multilabel scores
# each on dev rows the product never saw.
MULTILABEL_RULES = {"per_label": _per_label_weights, "shared": _shared_weight,
                    "bert": lambda y, *_: [1.0] * y.shape[1], "nbsvm": lambda y, *_: [0.0] * y.shape[1]}


def _single_label_score(truth: np.ndarray, probabilities: np.ndarray) -> dict:
    picked = probabilities[np.arange(len(truth)), truth]
    return {"accuracy": float((probabilities.argmax(axis=1) == truth).mean()),
            "log_loss": float(-np.log(np.clip(picked, EPSILON, 1)).mean())}


def _binary_score(truth: np.ndarray, p: np.ndarray) -> dict:
    f1 = thresholds.f1(truth, p >= thresholds.DEFAULT)
    p = np.clip(p, EPSILON, 1 - EPSILON)
    return {"f1": f1, "log_loss": float(-(truth * np.log(p) + (1 - truth) * np.log(1 - p)).mean())}


def _micro_f1(y: np.ndarray, probabilities: np.ndarray) -> float:
    """Micro-F1 at the default threshold: the blend is chosen before the thresholds (predictor/thresholds.py)."""
    return thresholds.micro_f1(y, probabilities >= thresholds.DEFAULT)
