"""Validation metrics for single-label and multi-label classifiers, and the confusion-matrix picture."""
from pathlib import Path

import numpy as np

from predictor import thresholds as label_thresholds


def single_label_metrics(y_true: np.ndarray, probabilities: np.ndarray, classes: list[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix (rows: truth)."""
    from sklearn import metrics as skm  # here, not at the top: scoring imports this module and needs no sklearn (2 s)

    y_pred = probabilities.argmax(axis=1)
    labels = list(range(len(classes)))
    precision, recall, f1, support = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "task": "single-label",
        "rows": int(len(y_true)),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "macro_f1": float(skm.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)),
        "per_class": {c: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for c, p, r, f, s in zip(classes, precision, recall, f1, support)},
        "confusion_matrix": {"labels": list(classes),
                             "matrix": skm.confusion_matrix(y_true, y_pred, labels=labels).tolist()},
    }


def multilabel_metrics(y_true: np.ndarray, probabilities: np.ndarray, classes: list[str],
                       thresholds: list[float] | None = None) -> dict:
    """Micro/macro-F1, exact-match accuracy, and per-label precision/recall/F1/ROC AUC at `thresholds` (one per
    label; thresholds.DEFAULT for every label when None)."""
    from sklearn import metrics as skm

    bars = np.full(len(classes), label_thresholds.DEFAULT) if thresholds is None else np.asarray(thresholds, float)
    y_pred = (probabilities >= bars).astype(int)
    per_label = {}
    for i, name in enumerate(classes):
        truth, predicted = y_true[:, i], y_pred[:, i]
        tn, fp, fn, tp = skm.confusion_matrix(truth, predicted, labels=[0, 1]).ravel()
        both_present = 0 < truth.sum() < len(truth)  # ROC AUC is undefined when a label is always or never on
        per_label[name] = {
            "precision": float(skm.precision_score(truth, predicted, zero_division=0)),
            "recall": float(skm.recall_score(truth, predicted, zero_division=0)),
            "f1": float(skm.f1_score(truth, predicted, zero_division=0)),
            "roc_auc": float(skm.roc_auc_score(truth, probabilities[:, i])) if both_present else None,
            "threshold": float(bars[i]),
            "support": int(truth.sum()),
            "counts": {"tp": int(tp), "fp": int(fp), "fn": int(fn), "tn": int(tn)},
        }
    return {
        "task": "multi-label",
        "rows": int(len(y_true)),
        "thresholds": label_thresholds.Thresholds(tuple(classes), tuple(map(float, bars)), False).describe(),
        "subset_accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "micro_f1": float(skm.f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "macro_f1": float(skm.f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "per_label": per_label,
    }


def plot_reliability(calibrated: dict, path: Path) -> None:
    """The reliability diagram of the validation rows (predictor/calibration.py's bins) before and after calibration:
    how often a stated probability came true, against the probability."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated perfectly")
    for key, style, name in [("reliability_before", "o--", "as blended"), ("reliability_after", "s-", "calibrated")]:
        bins = calibrated[key]
        ax.plot([b["confidence"] for b in bins], [b["observed"] for b in bins], style,
                label=f"{name} (ECE {calibrated['ece_' + key.split('_')[1]]:.3f})")
    ax.set_xlabel("stated probability")
    ax.set_ylabel("how often it came true")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(f"Validation rows ({calibrated['rows']:,}), {calibrated['bins']} bins", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(metrics: dict, path: Path) -> None:
    """Save the confusion matrix (single-label) or per-label TP/FP/FN/TN counts (multi-label) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if metrics["task"] == "single-label":
        matrix = np.array(metrics["confusion_matrix"]["matrix"])
        rows = cols = metrics["confusion_matrix"]["labels"]
        xlabel, ylabel, title = "predicted", "true", f"Validation confusion matrix (accuracy {metrics['accuracy']:.3f})"
    else:
        rows, cols = list(metrics["per_label"]), ["tp", "fp", "fn", "tn"]
        matrix = np.array([[metrics["per_label"][r]["counts"][c] for c in cols] for r in rows])
        xlabel, ylabel, title = ("outcome", "label",
                                 f"Validation outcomes per label (micro-F1 {metrics['micro_f1']:.3f})")
    size = max(5.0, 0.6 * max(len(rows), len(cols)) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, str(value), ha="center", va="center",
                color="white" if value > matrix.max() / 2 else "black")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
