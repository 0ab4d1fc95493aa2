"""The product's own path: train.py's train(Settings(...)) on a CSV, then the saved model scored with Scorer.

The training rows are written to bench/results/tmp/<name>/train.csv (git-ignored) and the validation rows to
val.csv, passed as --val-data, so that the product and the baselines train on exactly the same rows.
"""
import time

import numpy as np

import predictor  # noqa: F401  (before TensorFlow)
from bench.common import TMP, Progress, log

EVAL_CHUNK = 256  # rows per Scorer.predict_proba call while evaluating (only for progress lines)


def train_and_score(name, train_df, val_df, text_column, label_columns, test_texts, *, epochs=None, maxlen=None,
                    lr=None, seed=42, batch_size=None, classifier=None, reading=None, unlabelled=None):
    """Train through predictor.training.train and score test_texts; returns probabilities, classes and timings.

    epochs, maxlen, lr, classifier and reading left at None take train.py's defaults. Besides the model's own
    probabilities, each member's are returned ("member_probabilities"), also for a member validation gave no weight.
    """
    from predictor import model_folder
    from predictor.models import BertMember, NbsvmMember
    from predictor.scorer import Scorer
    from predictor.training import Settings, train

    folder = TMP / name
    folder.mkdir(parents=True, exist_ok=True)
    train_csv, val_csv = folder / "train.csv", folder / "val.csv"
    train_df.to_csv(train_csv, index=False)
    val_df.to_csv(val_csv, index=False)
    chosen = {key: value for key, value in [("classifier", classifier), ("reading", reading),
                                            ("unlabelled", unlabelled)] if value is not None}
    settings = Settings(data=train_csv, text_column=text_column, label_columns=list(label_columns), val_data=val_csv,
                        epochs=epochs, maxlen=maxlen, lr=lr, seed=seed, batch_size=batch_size,
                        out=folder / "model", force=True, **chosen)
    started = time.perf_counter()
    out = train(settings, log=lambda line: log(f"train.py: {line}"))
    train_wall_s = time.perf_counter() - started
    info = model_folder.read(out)
    record, validation = info.record, info.metrics

    started = time.perf_counter()
    scorer = Scorer(out)
    load_s = time.perf_counter() - started
    # Members validation gave no weight are not loaded by the Scorer; load them here to report them too.
    extra = {}
    if record.member(model_folder.BERT) and scorer.model.bert is None:
        extra[model_folder.BERT] = BertMember.load(out, record.maxlen, record.reading)
    if record.member(model_folder.NBSVM) and scorer.model.nbsvm is None:
        extra[model_folder.NBSVM] = NbsvmMember.load(
            model_folder.member_dirs(out, record.member(model_folder.NBSVM), record), record.multilabel)
    texts = [str(t) for t in test_texts]
    progress = Progress(f"{name}: scoring the test set", len(texts))
    chunks, member_chunks, windows = [], {}, 0
    started = time.perf_counter()
    for start in range(0, len(texts), EVAL_CHUNK):
        scores = scorer.score_batch(texts[start:start + EVAL_CHUNK])
        chunks.append(scores.probabilities)
        for kind, probabilities in scores.members.items():
            member_chunks.setdefault(kind, []).append(probabilities)
        progress.update(start + len(chunks[-1]))
    eval_s = time.perf_counter() - started
    for kind, member in extra.items():
        member_chunks[kind] = [member.predict(texts[i:i + EVAL_CHUNK]) for i in range(0, len(texts), EVAL_CHUNK)]
    if record.maxlen:
        tokenizer = scorer.model.bert.tokenizer if scorer.model.bert else extra[model_folder.BERT].tokenizer
        windows = sum(len(tokenizer.encode(t, record.maxlen, record.reading, record.window_overlap).ids) for t in texts)
    probabilities = np.concatenate(chunks) if chunks else np.zeros((0, len(scorer.classes)))
    durations = record.durations_s
    fit_s = durations.get("fit")
    fitted_examples = record.rows["train"] * record.settings["epochs"]
    log(f"{name}: train() took {train_wall_s:.0f}s (fit {fit_s}s), scored {len(texts):,} in {eval_s:.0f}s")
    return {
        "probabilities": probabilities, "classes": list(scorer.classes), "model_dir": str(out),
        "member_probabilities": {kind: np.concatenate(c) for kind, c in member_chunks.items()},
        "train_s": round(train_wall_s, 2), "load_s": round(load_s, 2), "eval_s": round(eval_s, 2),
        "train_examples_per_s": round(fitted_examples / fit_s, 2) if fit_s else None,
        "eval_rows_per_s": round(len(texts) / eval_s, 2) if eval_s else None, "test_windows": windows,
        "durations_s": durations, "lr": record.lr, "rows": record.rows, "maxlen": record.maxlen,
        "batch_size": record.settings["batch_size"], "epochs": record.settings["epochs"],
        "classifier": record.classifier, "reading": record.reading, "bert_weight": record.bert_weight,
        "temperatures": record.calibration.get("temperatures", []), "thresholds": record.thresholds,
        "threshold_choice": record.threshold_choice, "combination": record.combination,
        "validation_calibration": {k: v for k, v in record.calibration.items() if not k.startswith("reliability")},
        "members_validation": {m.kind: {k: m.validation.get(k) for k in ("accuracy", "macro_f1", "micro_f1")}
                               for m in record.members},
        "device": record.device,
        "validation_metrics": {k: validation.get(k) for k in ("accuracy", "macro_f1", "micro_f1")},
    }


def test_calibration(result, labels):
    """Expected calibration error on the test rows (single-label): of the members' blend as it was, and of the
    model's probabilities (calibrated on the validation rows, if the model was)."""
    from predictor import calibration, hybrid

    y = np.array([result["classes"].index(str(label)) for label in labels])
    members = result["member_probabilities"]
    blended = hybrid.combine(members.get("bert"), members.get("nbsvm"), result["bert_weight"])
    return {"temperatures": result["temperatures"], "bins": calibration.BINS,
            "ece_blend": round(calibration.expected_calibration_error(y, blended, False), 5),
            "ece_model": round(calibration.expected_calibration_error(y, result["probabilities"], False), 5)}


def product_name(result):
    """The table's name for the product row: what train.py built, and the blend validation chose."""
    if result is None:
        return ""
    weights = result["bert_weight"]
    blend = (f"BERT weight {weights[0]:.2f}" if len(set(weights)) == 1 else "per-label weights")
    kind = {"hybrid": f"hybrid BERT+NBSVM ({blend}, reads by {result['reading']})",
            "bert": f"BERT (reads by {result['reading']})", "nbsvm": "NBSVM"}[result["classifier"]]
    return f"product: train.py, {kind}"


def single_label_predictions(result, member=None):
    """Predicted classes of the model, or of one of its members ("bert", "nbsvm")."""
    probabilities = result["probabilities"] if member is None else result["member_probabilities"][member]
    return [result["classes"][i] for i in np.asarray(probabilities).argmax(axis=1)]


def multilabel_predictions(result, label_columns, member=None):
    """0/1 matrix in label_columns' order (the scorer's class order may differ): the model's labels at its own
    thresholds, as the page and score.py give them; a member's at thresholds.DEFAULT, where the blend was chosen."""
    from predictor import thresholds

    probabilities = result["probabilities"] if member is None else result["member_probabilities"][member]
    bars = np.asarray(result["thresholds"] if member is None and result["thresholds"] else
                      [thresholds.DEFAULT] * len(result["classes"]))
    order = [result["classes"].index(str(c)) for c in label_columns]
    return (np.asarray(probabilities)[:, order] >= bars[order]).astype(int)


def timing_summary(result):
    return {k: result[k] for k in ("train_s", "load_s", "eval_s", "train_examples_per_s", "eval_rows_per_s",
                                   "durations_s", "lr", "rows", "maxlen", "batch_size", "epochs", "classifier",
                                   "reading", "bert_weight", "members_validation", "test_windows",
                                   "validation_calibration", "validation_metrics", "model_dir")}
