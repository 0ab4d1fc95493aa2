"""The label audit: which labels of the training file the model disputes, ranked, for an analyst to check (issue 20).

cleanlab's `find_label_issues` (confident learning) needs probabilities each row's own label did not shape: every
labelled row of the training file (and the corrections merged into it) is scored by a classifier fitted on the other
FOLDS - 1 folds. Rows are ranked by self-confidence, the probability given to the row's own label, lowest first.

Which classifier: TF-IDF of words and word pairs with logistic regression (scikit-learn, the settings of bench's
baseline). Not BERT: on a CPU, FOLDS more fine-tunings would cost several times train.py's whole run, where the audit
may add a quarter. Not the NBSVM member either, though it is cheap too: on 2,000 IMDB training rows with 5% of labels
flipped, the two found the flipped rows alike, and TF-IDF+LR took a sixth of the time (bench/results/audit.json
`oof_models`); and ktrain's NBSVM recipe, made for thousands of rows, barely moves from 1/K when trained on a few
dozen (the tests' 60 keyword rows: about 0.33 for every class of every row), which ranks nothing.

Single-label models only: a multi-label audit needs cleanlab's multi-label ranking and a classifier per label; not
built yet, and training.json says so. A validation file given with --val-data is not audited: it is not the
training file.

label_issues.csv, beside the model, is built and read here only.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from predictor import atomic
from predictor.tables import writing

FILE = "label_issues.csv"
FOLDS = 5
COLUMNS = ["row", "text", "given_label", "suggested_label", "label_quality"]


@dataclass(frozen=True)
class Audit:
    """The ranked rows (COLUMNS) and what the record keeps of the run."""

    issues: pd.DataFrame
    record: dict


def skipped(why: str) -> Audit:
    return Audit(pd.DataFrame(columns=COLUMNS), {"audited": False, "why": why})


def run(texts: list[str], shown: list[str], rows: list, labels: list[str], classes: list[str], seed: int,
        fit: Callable[[list[str], np.ndarray], object] | None = None) -> Audit:
    """Audit `labels` of `texts` (as the model reads them; `shown` as the file holds them, `rows` their positions in
    it, None for rows added by corrections). `fit` (texts, y -> a predictor) replaces TfidfLogReg, for bench.audit's
    comparison only."""
    fit = fit or TfidfLogReg
    from cleanlab.filter import find_label_issues

    y = np.array([classes.index(label) for label in labels])
    smallest = int(np.bincount(y, minlength=len(classes)).min())
    folds = min(FOLDS, smallest)
    if folds < 2:
        return skipped(f"a class has {smallest} row: each needs at least 2 for the audit's folds")
    probabilities = out_of_fold(texts, y, len(classes), folds, fit, seed)
    # n_jobs=1: cleanlab's worker processes cannot run inside a spawned process (bench's), and forking one that has
    # loaded TensorFlow (train.py's) can hang; the count it parallelises takes milliseconds.
    ranked = find_label_issues(y, probabilities, return_indices_ranked_by="self_confidence", n_jobs=1)
    quality = probabilities[np.arange(len(y)), y]
    issues = pd.DataFrame({
        "row": [rows[i] for i in ranked], "text": [shown[i] for i in ranked],
        "given_label": [classes[y[i]] for i in ranked],
        "suggested_label": [classes[int(np.argmax(probabilities[i]))] for i in ranked],
        "label_quality": np.round(quality[ranked], 4)}, columns=COLUMNS)
    return Audit(issues, {"audited": True, "rows": len(y), "folds": folds,
                          "classifier": getattr(fit, "NAME", fit.__name__),
                          "method": "cleanlab.filter.find_label_issues, ranked by self_confidence",
                          "issues": len(issues), "file": FILE})


class TfidfLogReg:
    """TF-IDF of words and word pairs, then logistic regression, fitted on `texts` and class indices `y`."""

    NAME = "tfidf+logreg"
    TFIDF = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 2}  # bench/baselines.py TFIDF and LOGREG
    LOGREG = {"max_iter": 1000}

    def __init__(self, texts: list[str], y: np.ndarray):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = TfidfVectorizer(**self.TFIDF)
        self.model = LogisticRegression(**self.LOGREG).fit(self.vectorizer.fit_transform(texts), y)

    def predict(self, texts: list[str], return_proba: bool = True) -> np.ndarray:
        return self.model.predict_proba(self.vectorizer.transform(texts))


def out_of_fold(texts: list[str], y: np.ndarray, n_classes: int, folds: int,
                fit: Callable[[list[str], np.ndarray], object], seed: int) -> np.ndarray:
    """Each row's probabilities from `fit` (texts, y -> a predictor) on the folds it is not in (stratified by class).
    Every class is in every fold's fit, so its probability columns are in class order."""
    from sklearn.model_selection import StratifiedKFold

    out = np.zeros((len(y), n_classes))
    for train_at, held_at in StratifiedKFold(folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        predictor = fit([texts[i] for i in train_at], y[train_at])
        out[held_at] = predictor.predict([texts[i] for i in held_at], return_proba=True)
    return out


def write(audit: Audit, folder: Path) -> None:
    """label_issues.csv in the model's folder (formulas disarmed: texts come from the analyst's file)."""
    if audit.record.get("audited"):
        whole = audit.issues.assign(row=audit.issues["row"].astype("Int64"))  # 7, not 7.0, beside a blank
        atomic.write_bytes(Path(folder) / FILE, writing.to_csv_bytes(whole))


def read(folder: Path) -> pd.DataFrame | None:
    """A model's label_issues.csv as written (`row` as text: "" for a row added by corrections), or None where there
    is none."""
    path = Path(folder) / FILE
    if not path.is_file():
        return None
    text = {column: str for column in ("row", "text", "given_label", "suggested_label")}
    frame = pd.read_csv(path, dtype=text, keep_default_na=False, encoding="utf-8-sig")
    for column in text:  # written with formulas disarmed (writing.to_csv_bytes); corrections need the texts as trained
        frame[column] = frame[column].map(writing.as_written)
    return frame
