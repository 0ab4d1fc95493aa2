"""Judging a model on its validation rows: the blend's weight, calibration, multi-label thresholds, metrics, and the
lines that report them.
"""

import numpy as np

from predictor import calibration, dataset, hybrid, metrics, thresholds
from predictor.model_folder import BERT, NBSVM, Member


# Below these, validation scores are too rough to judge a model by (one row of 50 moves accuracy by 2 points).
MIN_VALIDATION_ROWS = 50
MIN_VALIDATION_PER_CLASS = 5


def combination_for(y: np.ndarray, probabilities: dict, multilabel: bool,
                    fixed: float | None = None) -> tuple[list[float], dict]:
    """BERT's weight(s) in the blend: chosen on validation rows for a hybrid unless `fixed` (--bert-weight), and
    1 or 0 for a single member."""
    if BERT in probabilities and NBSVM in probabilities:
        if fixed is not None:
            return [fixed] * (y.shape[1] if multilabel else 1), {"rule": "set by --bert-weight", "chosen": fixed}
        return hybrid.choose_weights(y, probabilities[BERT], probabilities[NBSVM], multilabel)
    only = next(iter(probabilities))
    return [1.0 if only == BERT else 0.0], {"rule": f"{only} alone"}


def calibrated_record(y: np.ndarray, blended: np.ndarray, multilabel: bool, rows: int) -> dict:
    """The temperature(s) fitted on the validation rows and the calibration error before and after, with the
    reliability diagram's bins; none below MIN_VALIDATION_ROWS, where a fitted temperature would be noise."""
    if rows < MIN_VALIDATION_ROWS:
        return {"method": "none", "temperatures": calibration.NONE,
                "why": f"{rows} validation rows are too few to calibrate on (at least {MIN_VALIDATION_ROWS})"}
    temperatures = calibration.fit(y, blended, multilabel)
    after = calibration.apply(blended, temperatures, multilabel)
    return {"method": "temperature", "temperatures": temperatures, "rows": rows, "bins": calibration.BINS,
            "ece_before": round(calibration.expected_calibration_error(y, blended, multilabel), 5),
            "ece_after": round(calibration.expected_calibration_error(y, after, multilabel), 5),
            "reliability_before": calibration.reliability(y, blended, multilabel),
            "reliability_after": calibration.reliability(y, after, multilabel)}


def thresholds_for(y: np.ndarray, probabilities: np.ndarray, multilabel: bool) -> tuple[list[float], dict]:
    """A multi-label model's per-label thresholds, chosen on its calibrated validation probabilities
    (predictor/thresholds.py), and how; none for single-label models, nor below MIN_VALIDATION_ROWS, where a chosen
    threshold would be noise (every label then uses thresholds.DEFAULT)."""
    if not multilabel:
        return [], {}
    if len(y) < MIN_VALIDATION_ROWS:
        return [], {"chosen": "default", "why": f"{len(y)} validation rows are too few to choose thresholds on (at "
                                                f"least {MIN_VALIDATION_ROWS}): every label uses {thresholds.DEFAULT}"}
    return thresholds.choose(y, probabilities)


def label_matrix(rows: dataset.LabelledRows, classes: list[str]) -> np.ndarray:
    """Validation truth: class indices (single-label) or the 0/1 matrix in class order (multi-label)."""
    if rows.multilabel:
        return rows.frame[classes].to_numpy().astype(int)
    return rows.frame[dataset.LABEL].map(classes.index).to_numpy()


def evaluate(y: np.ndarray, probabilities: np.ndarray, classes: list[str], multilabel: bool,
             label_thresholds: list[float] | None = None) -> dict:
    """Validation metrics; multi-label at `label_thresholds` (thresholds.DEFAULT for every label when None or
    empty)."""
    if multilabel:
        return metrics.multilabel_metrics(y, probabilities, classes, label_thresholds or None)
    return metrics.single_label_metrics(y, probabilities, classes)


def predicted_labels(probabilities: np.ndarray, multilabel: bool) -> np.ndarray:
    """Each row's class index (single-label) or its 0/1 labels at the threshold (multi-label)."""
    if multilabel:
        return probabilities >= thresholds.DEFAULT
    return probabilities.argmax(axis=1)


def _float(value: float | None) -> float | None:
    return None if value is None else float(value)


def headline(scores: dict) -> str:
    if scores["task"] == "single-label":
        return f"accuracy {scores['accuracy']:.3f}, macro-F1 {scores['macro_f1']:.3f}"
    return f"micro-F1 {scores['micro_f1']:.3f}, macro-F1 {scores['macro_f1']:.3f}"


def describe_thresholds(choice: dict) -> str:
    """One line: which thresholds the labels use, and what they gave on the validation rows."""
    if "why" in choice:
        return f"Label thresholds: {choice['why']}."
    at = choice["validation"]
    words = {"default": f"{thresholds.DEFAULT} for every label", "shared": "one threshold for every label",
             "per_label": "one threshold per label"}
    return (f"Label thresholds: {words[choice['chosen']]} (best in cross-validation on the validation rows): "
            f"micro-F1 {at[choice['chosen']]['micro_f1']:.3f}, macro-F1 {at[choice['chosen']]['macro_f1']:.3f}, "
            f"against {at['default']['micro_f1']:.3f} and {at['default']['macro_f1']:.3f} at "
            f"{thresholds.DEFAULT} for all.")


def describe_combination(members: list[Member], bert_weight: list[float], scores: dict, fixed: bool = False) -> str:
    """One line: each member's validation score and what the model uses."""
    if len(members) == 1:
        return f"On the validation rows ({members[0].kind.upper()}): {headline(scores)}."
    parts = "; ".join(f"{m.kind.upper()} {headline(m.validation)}" for m in members)
    weights = np.asarray(bert_weight)
    use = ("BERT alone" if (weights == 1).all() else "NBSVM alone" if not weights.any()
           else f"both, BERT weight {weights.mean():.2f}" + (" (mean over labels)" if len(weights) > 1 else ""))
    how = "Set by --bert-weight" if fixed else "Chosen on those rows"
    return f"On the validation rows: {parts}. {how}: {use}, {headline(scores)}."
