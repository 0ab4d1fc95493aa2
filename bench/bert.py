"""The product's own path: train.py's train(Settings(...)) on a CSV, then the saved model scored with Scorer.

The training rows are written to bench/results/tmp/<name>/train.csv (git-ignored) and the validation rows to
val.csv, passed as --val-data, so that the product and the baselines train on exactly the same rows.
"""
import json
import time
from pathlib import Path

import numpy as np

import predictor  # noqa: F401  (before TensorFlow)
from bench.common import TMP, Progress, log

EVAL_CHUNK = 256  # rows per Scorer.predict_proba call while evaluating (only for progress lines)


def train_and_score(name, train_df, val_df, text_column, label_columns, test_texts, *, epochs, maxlen=None, lr=None,
                    seed=42, batch_size=None):
    """Train through predictor.training.train and score test_texts; returns probabilities, classes and timings."""
    from predictor.models import Scorer
    from predictor.training import Settings, train

    folder = TMP / name
    folder.mkdir(parents=True, exist_ok=True)
    train_csv, val_csv = folder / "train.csv", folder / "val.csv"
    train_df.to_csv(train_csv, index=False)
    val_df.to_csv(val_csv, index=False)
    settings = Settings(data=train_csv, text_column=text_column, label_columns=list(label_columns), val_data=val_csv,
                        epochs=epochs, maxlen=maxlen, lr=lr, seed=seed, batch_size=batch_size,
                        out=folder / "model", force=True)
    started = time.perf_counter()
    out = train(settings, log=lambda line: log(f"train.py: {line}"))
    train_wall_s = time.perf_counter() - started
    training = json.loads((Path(out) / "training.json").read_text())
    validation = json.loads((Path(out) / "metrics.json").read_text())

    started = time.perf_counter()
    scorer = Scorer(out)
    load_s = time.perf_counter() - started
    texts = [str(t) for t in test_texts]
    progress = Progress(f"{name}: scoring the test set", len(texts))
    chunks = []
    started = time.perf_counter()
    for start in range(0, len(texts), EVAL_CHUNK):
        chunks.append(scorer.predict_proba(texts[start:start + EVAL_CHUNK]))
        progress.update(start + len(chunks[-1]))
    eval_s = time.perf_counter() - started
    probabilities = np.concatenate(chunks) if chunks else np.zeros((0, len(scorer.classes)))
    fit_s = training["durations_s"].get("fit")
    fitted_examples = training["rows"]["train"] * epochs
    log(f"{name}: train() took {train_wall_s:.0f}s (fit {fit_s}s), scored {len(texts):,} in {eval_s:.0f}s")
    return {
        "probabilities": probabilities, "classes": list(scorer.classes), "model_dir": str(out),
        "train_s": round(train_wall_s, 2), "load_s": round(load_s, 2), "eval_s": round(eval_s, 2),
        "train_examples_per_s": round(fitted_examples / fit_s, 2) if fit_s else None,
        "eval_rows_per_s": round(len(texts) / eval_s, 2) if eval_s else None,
        "durations_s": training["durations_s"], "lr": training.get("lr"), "rows": training["rows"],
        "maxlen": training["settings"]["maxlen"], "batch_size": training["settings"]["batch_size"],
        "epochs": epochs, "device": training.get("device"), "validation_metrics": {
            k: validation.get(k) for k in ("accuracy", "macro_f1", "micro_f1")},
    }


def single_label_predictions(result):
    return [result["classes"][i] for i in np.asarray(result["probabilities"]).argmax(axis=1)]


def multilabel_predictions(result, label_columns, threshold=0.5):
    """0/1 matrix in label_columns' order (the scorer's class order may differ)."""
    order = [result["classes"].index(str(c)) for c in label_columns]
    return (np.asarray(result["probabilities"])[:, order] >= threshold).astype(int)


def timing_summary(result):
    return {k: result[k] for k in ("train_s", "load_s", "eval_s", "train_examples_per_s", "eval_rows_per_s",
                                   "durations_s", "lr", "rows", "maxlen", "batch_size", "epochs",
                                   "validation_metrics", "model_dir")}
