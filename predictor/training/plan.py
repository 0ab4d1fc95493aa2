"""Choices made from the settings, the data and the machine: device, weights, maxlen, batch size and epochs, and the
warnings a small validation set deserves.
"""
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from predictor import dataset, unlike
from predictor.device import Device, detect_device
from predictor.model_folder import NBSVM
from predictor.bert.tokenizer import DEFAULT_OVERLAP, MARKERS, WordPieces, longer_share, reading_text
from predictor.bert.pretrained import BertWeights, resolve_bert
from predictor.training.evaluation import MIN_VALIDATION_PER_CLASS, MIN_VALIDATION_ROWS
from predictor.corrections.merge import corrections_line
from predictor.training.rows import Labelled
from predictor.training.settings import Settings


# Examples (rows x epochs) at maxlen EPOCH_MAXLEN the automatic epoch count aims at, within 1..MAX_AUTO_EPOCHS:
# IMDB's 22,500 rows get 1 epoch (a 2nd doubles the fit, the largest part of train.py's time: bench/results/imdb.json
# durations_s), a few thousand rows get 4. A row of shorter texts counts for the square of its share of EPOCH_MAXLEN:
# not its compute, but that short texts needed more passes. Judged on GoEmotions' dev rows (21,000 training comments
# at maxlen 64, where the square gives 4 epochs and a plain share 3; the 4,426 dev rows train.py never saw): 4 epochs
# scored micro-F1 0.5906 at train.py's thresholds against 0.5854 for 3, and BERT alone at 0.5 scored 0.5604 against
# 0.5397 (bench/results/multilabel.json and multilabel-epochs3.json, `rules_on_dev`). The rule was first drawn from
# GoEmotions' test rows (issue 23); the dev rows confirmed it.
EPOCH_EXAMPLES = 30_000
EPOCH_MAXLEN = 128
MAX_AUTO_EPOCHS = 4  # sample data at lr 1e-4: 88% validation accuracy after 4 epochs, no better after 8
MAXLEN_PERCENTILE = 95  # the automatic maxlen reads this share of training texts in full...
MAXLEN_STEP = 32  # ...rounded up to a multiple of this, at least one step
MAXLEN_SAMPLE = 2000  # texts tokenized to estimate lengths; more changes the percentile very little


@dataclass(frozen=True)
class Plan:
    """Choices made from the settings, the data and the machine."""

    device: Device
    weights: BertWeights | None
    maxlen: int | None
    batch_size: int
    epochs: int
    longer_than_maxlen: dict
    lengths: dict = field(default_factory=dict)  # the sampled training texts' lengths (predictor/unlike.py)


def make_plan(settings: Settings, train_rows: dataset.LabelledRows) -> Plan:
    """Device, weights, maxlen, batch size and epochs: the user's where given, else what suits the data and machine."""
    device = detect_device()
    batch_size = settings.batch_size or device.batch_size
    if settings.classifier == NBSVM:
        return Plan(device, None, None, batch_size, settings.epochs or auto_epochs(len(train_rows.frame)), {})
    weights = resolve_bert(settings.bert, settings.bert_dir)
    sample = train_rows.frame[dataset.TEXT].sample(min(len(train_rows.frame), MAXLEN_SAMPLE), random_state=0)
    tokenizer = WordPieces.from_vocab_file(Path(weights.path) / "vocab.txt")
    lengths = np.array([tokenizer.count(text) for text in sample])
    maxlen = settings.maxlen or auto_maxlen(lengths, device.maxlen_cap)
    longer = {"share": longer_share(lengths, maxlen), "of_sampled_train_rows": len(lengths)}
    epochs = settings.epochs or auto_epochs(len(train_rows.frame), maxlen)
    own = lengths - MARKERS  # the texts' own pieces, as scoring counts them
    return Plan(device, weights, maxlen, batch_size, epochs, longer, unlike.training_lengths(own))


def auto_maxlen(lengths: np.ndarray, cap: int) -> int:
    """Shortest multiple of MAXLEN_STEP that reads MAXLEN_PERCENTILE% of texts whole, within the device's cap."""
    wanted = MAXLEN_STEP * math.ceil(np.percentile(lengths, MAXLEN_PERCENTILE) / MAXLEN_STEP)
    return int(min(max(wanted, MAXLEN_STEP), cap))


def auto_epochs(train_rows: int, maxlen: int = EPOCH_MAXLEN) -> int:
    """About EPOCH_EXAMPLES examples of EPOCH_MAXLEN pieces in all, at least one epoch and at most MAX_AUTO_EPOCHS;
    shorter rows count for less (see EPOCH_EXAMPLES)."""
    cost = max(1, train_rows) * (min(maxlen, EPOCH_MAXLEN) / EPOCH_MAXLEN) ** 2
    return int(min(MAX_AUTO_EPOCHS, max(1, round(EPOCH_EXAMPLES / cost))))


def describe(plan: Plan, settings: Settings, labelled: Labelled) -> str:
    rows = labelled.counts
    dropped = ", ".join(f"{n} {reason}" for reason, n in rows["dropped"].items()) or "none"
    lines = [f"Device: {plan.device.kind.upper()} ({plan.device.name}). Classifier: {settings.classifier}. "
             f"Epochs {plan.epochs}{'' if settings.epochs else ' (auto)'}."]
    if plan.weights is not None:
        lines.append(f"BERT: {plan.weights.name}, maxlen {plan.maxlen}{'' if settings.maxlen else ' (auto)'}, "
                     f"batch size {plan.batch_size}; {plan.longer_than_maxlen['share']:.0%} of the texts are longer "
                     f"than maxlen. Scoring, it will read "
                     f"{reading_text(settings.reading, plan.maxlen, DEFAULT_OVERLAP)}.")
    lines.append(f"Rows: {rows['read']} read, dropped: {dropped}; {rows['train']} train, "
                 f"{rows['validation']} validation."
                 + (f" HTML turned into text in {rows['markup_converted']}." if rows["markup_converted"] else ""))
    if "corrections" in rows:
        lines.append(corrections_line(rows["corrections"]))
    return "\n".join(lines)


def validation_warnings(y_val: np.ndarray, classes: list[str], multilabel: bool) -> list[str]:
    """Why the validation scores may mean little: too few rows, or too few rows of a class."""
    warnings, rows = [], len(y_val)
    if rows < MIN_VALIDATION_ROWS:
        warnings.append(f"validation has only {rows} rows (under {MIN_VALIDATION_ROWS}), so its scores are rough: "
                        f"one row moves accuracy by {100 / max(rows, 1):.0f} points. Label more rows, or hold out "
                        "more of them for validation (train.py's --val-fraction or --val-data).")
    per_class = y_val.sum(axis=0) if multilabel else np.bincount(y_val, minlength=len(classes))
    few = [f"{name!r} ({int(count)})" for name, count in zip(classes, per_class) if count < MIN_VALIDATION_PER_CLASS]
    if few:
        warnings.append(f"validation has fewer than {MIN_VALIDATION_PER_CLASS} rows of {', '.join(few)}, so the "
                        "scores for these classes mean little. Label more rows of them.")
    return warnings
