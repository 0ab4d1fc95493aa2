"""Fine-tune a BERT classifier with ktrain on a labelled table, evaluate it, and save it without ever half-writing."""
import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import io
import json
import math
import os
import platform
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from predictor import dataset, metrics, tables
from predictor.device import detect_device
from predictor.errors import UserError
from predictor.models import METRICS_FILE, TRAINING_FILE, default_models_dir
from predictor.weights import OFFLINE, resolve_bert, use_bert

DEFAULT_EPOCHS = 4  # sample data at lr 1e-4: 88% validation accuracy after 4 epochs, no better after 8
DEFAULT_VAL_FRACTION = 0.1
DEFAULT_SEED = 42
MAX_BERT_MAXLEN = 512  # BERT's position embeddings stop here
MAXLEN_PERCENTILE = 95  # the automatic maxlen reads this share of training texts in full...
MAXLEN_STEP = 32  # ...rounded up to a multiple of this, at least one step
MAXLEN_SAMPLE = 2000  # texts tokenized to estimate lengths; more changes the percentile very little
# lr_find sweeps from 1e-7 upwards one batch at a time; this many batches resolve the curve well enough, and
# sweeping all of a large dataset would cost more than the training itself on a CPU.
LR_FIND_BATCHES = 64
# Rates outside this band either barely move BERT's weights or wreck them: a noisy curve can suggest either.
LR_BOUNDS = (1e-5, 1e-4)
RELOAD_CHECK_ROWS = 64  # validation rows scored again by the reloaded predictor before it is moved into place
RELOAD_TOLERANCE = 1e-5


@dataclass
class Settings:
    """Everything a training run depends on; saved verbatim in training.json."""

    data: Path
    text_column: str
    label_columns: list
    val_data: Path | None = None
    val_fraction: float = DEFAULT_VAL_FRACTION
    sheet: str | None = None
    bert: str = OFFLINE
    bert_dir: Path | None = None
    maxlen: int | None = None  # None: from the data, see auto_maxlen
    batch_size: int | None = None  # None: the device's default
    epochs: int = DEFAULT_EPOCHS
    lr: float | None = None  # None: from learner.lr_find()
    seed: int = DEFAULT_SEED
    out: Path | None = None
    force: bool = False


@dataclass
class Report:
    """What the run did, for training.json and the closing summary."""

    started_at: str = field(default_factory=lambda: dt.datetime.now().isoformat(timespec="seconds"))
    durations_s: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)

    @contextlib.contextmanager
    def timed(self, name):
        start = time.perf_counter()
        yield
        self.durations_s[name] = round(time.perf_counter() - start, 2)


@dataclass(frozen=True)
class Plan:
    """Choices made from the settings, the data and the machine."""

    device: object
    weights: object
    maxlen: int
    batch_size: int


def train(settings, log=print):
    """Run the whole pipeline and return the saved model's folder."""
    report = Report()
    out = output_dir(settings)
    check_settings(settings)
    with report.timed("read"):
        train_rows, val_rows = read_labelled(settings, report)
    import ktrain  # only now: --help and bad-input messages should not wait seconds for TensorFlow

    plan = make_plan(settings, train_rows, report)
    log(describe(plan, settings, report))
    trn, val, preproc, model = build_classifier(train_rows, val_rows, plan, settings.seed)
    classes = list(preproc.get_classes())
    staging = staging_dir(out)
    try:
        if settings.lr is None:
            with report.timed("lr_find"):
                model, lr = find_learning_rate(model, trn, plan.batch_size, settings.seed, report, staging)
        else:
            lr = settings.lr
            report.facts["lr"] = {"chosen": lr, "source": "--lr"}
        log(f"Training with learning rate {lr:.2e} ({report.facts['lr']['source']}).")
        learner = ktrain.get_learner(model, train_data=trn, val_data=val, batch_size=plan.batch_size)
        with report.timed("fit"):
            learner.fit_onecycle(lr, settings.epochs)
        with report.timed("evaluate"):
            probabilities = learner.model.predict(val[0], batch_size=plan.batch_size, verbose=0)
            scores = evaluate(val[1], probabilities, classes, train_rows.multilabel)
        facts = {**report.facts, "classes": classes, "multilabel": train_rows.multilabel,
                 "device": asdict(plan.device), "bert": {"name": plan.weights.name, "path": str(plan.weights.path)},
                 "settings": {**settings_record(settings), "maxlen": plan.maxlen, "batch_size": plan.batch_size,
                              "lr": lr}}
        check_texts = val_rows.frame[dataset.TEXT][:RELOAD_CHECK_ROWS].tolist()
        write_model(staging, saved_predictor(learner.model, preproc, plan, train_rows.multilabel), check_texts, scores,
                    report, facts)
        replace_dir(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already if the model moved into place
    log(summary(out, scores, report))
    return out


def make_plan(settings, train_rows, report):
    """Device, weights, maxlen and batch size: the user's where given, else what suits the data and machine."""
    device = detect_device()
    weights = resolve_bert(settings.bert, settings.bert_dir)
    lengths = sampled_token_lengths(train_rows.frame[dataset.TEXT], weights.path)
    maxlen = settings.maxlen or auto_maxlen(lengths, device.maxlen_cap)
    report.facts["rows"]["longer_than_maxlen"] = {"share": round(float((lengths > maxlen).mean()), 4),
                                                  "of_sampled_train_rows": len(lengths)}
    return Plan(device, weights, maxlen, settings.batch_size or device.batch_size)


def describe(plan, settings, report):
    rows = report.facts["rows"]
    dropped = ", ".join(f"{n} {reason}" for reason, n in rows["dropped"].items()) or "none"
    return (f"Device: {plan.device.kind.upper()} ({plan.device.name}). BERT: {plan.weights.name}. maxlen {plan.maxlen}"
            f"{'' if settings.maxlen else ' (auto)'}, batch size {plan.batch_size}, epochs {settings.epochs}.\n"
            f"Rows: {rows['read']} read, dropped: {dropped}; {rows['train']} train, {rows['validation']} validation; "
            f"{rows['longer_than_maxlen']['share']:.0%} of texts longer than maxlen (only their start is read).")


def build_classifier(train_rows, val_rows, plan, seed):
    """ktrain's 'bert' preprocessing and classifier on the planned weights: (trn, val, preproc, model)."""
    import tensorflow as tf
    from ktrain import text

    # Layer names restart from scratch, or a second model trained in one process saves clashing HDF5 weight names.
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    # ktrain prints its label lists and the head of the label frame even at verbose=0: noise for our users.
    with use_bert(plan.weights), contextlib.redirect_stdout(io.StringIO()):
        trn, val, preproc = text.texts_from_df(
            train_rows.frame, dataset.TEXT, label_columns=label_columns_of(train_rows), val_df=val_rows.frame,
            maxlen=plan.maxlen, preprocess_mode="bert", lang="en", verbose=0)  # our weights fix the language
        model = text.text_classifier("bert", trn, preproc=preproc, multilabel=train_rows.multilabel, verbose=0)
    # ktrain compiles every model with one shared Adam instance, whose slots from an earlier run in this process
    # would be saved again under clashing names.
    return trn, val, preproc, with_fresh_optimizer(model, train_rows.multilabel)


def saved_predictor(model, preproc, plan, multilabel):
    """The predictor to save; dropping Adam's state shrinks its file threefold (272 -> 90 MB for MiniLM)."""
    import ktrain

    return ktrain.get_predictor(with_fresh_optimizer(model, multilabel), preproc, batch_size=plan.batch_size)


def check_settings(settings):
    """Fail fast on settings that cannot work, before any data is read or weights converted."""
    if settings.maxlen is not None and not 8 <= settings.maxlen <= MAX_BERT_MAXLEN:
        raise UserError(f"--maxlen {settings.maxlen} is out of range: BERT reads at most {MAX_BERT_MAXLEN} word pieces "
                        f"(and at least 8). Use --maxlen {MAX_BERT_MAXLEN} or less, or leave it out to pick it from the data.")
    for name, value, low in [("--epochs", settings.epochs, 1), ("--batch-size", settings.batch_size, 1)]:
        if value is not None and value < low:
            raise UserError(f"{name} must be at least {low} (got {value}).")
    if settings.lr is not None and not 0 < settings.lr < 1:
        raise UserError(f"--lr {settings.lr} is not a usable learning rate; BERT fine-tuning uses about 2e-5 to 1e-4, "
                        "or pass --lr auto to estimate one.")


def output_dir(settings):
    """Where the model goes; refuse to replace anything but a model folder, and that only with --force."""
    if settings.out is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        return default_models_dir() / f"{re.sub(r'[^A-Za-z0-9_-]+', '-', Path(settings.data).stem).strip('-')}-{stamp}"
    out = Path(settings.out).resolve()
    if out.exists():
        if not settings.force:
            raise UserError(f"--out {out} already exists. Pass --force to replace it (it is only replaced once the new "
                            "model has trained and checked out), or choose another --out.")
        if not out.is_dir() or (any(out.iterdir()) and not (out / TRAINING_FILE).is_file()):
            raise UserError(f"--out {out} exists and is not a model folder, so it will not be replaced even with "
                            "--force. Choose a new folder for --out.")
    return out


def read_labelled(settings, report):
    """Clean training and validation rows from the user's file(s); the counts go into the report."""
    frame = tables.read_table(settings.data, sheet=settings.sheet)
    rows = dataset.labelled_rows(frame, settings.text_column, settings.label_columns, Path(settings.data).name)
    dataset.check_classes(rows, Path(settings.data).name)
    sources = {"path": str(Path(settings.data).resolve()), "sha256": sha256(settings.data), "sheet": frame.attrs.get("sheet")}
    if settings.val_data is None:
        train_frame, val_frame = dataset.split_rows(rows, settings.val_fraction, settings.seed)
        dropped, read = rows.dropped, rows.read
    else:
        val_table = tables.read_table(settings.val_data, sheet=settings.sheet)
        val = dataset.labelled_rows(val_table, settings.text_column, settings.label_columns,
                                    Path(settings.val_data).name)
        unknown = sorted(set(dataset.classes_of(val)) - set(dataset.classes_of(rows)))
        if unknown:
            raise UserError(f"{Path(settings.val_data).name} has label(s) {', '.join(map(repr, unknown))} that never "
                            "occur in the training data. Fix the labels or add training examples of them.")
        train_frame, val_frame = rows.frame, val.frame
        dropped, read = rows.dropped + val.dropped, rows.read + val.read
        sources["validation"] = {"path": str(Path(settings.val_data).resolve()), "sha256": sha256(settings.val_data)}
    report.facts["data"] = sources
    report.facts["rows"] = {"read": read, "dropped": dict(dropped), "train": len(train_frame),
                            "validation": len(val_frame)}
    as_rows = lambda frame: dataset.LabelledRows(frame, rows.label_columns, rows.multilabel, len(frame))  # noqa: E731
    return as_rows(train_frame), as_rows(val_frame)


def label_columns_of(rows):
    return rows.label_columns if rows.multilabel else [dataset.LABEL]


def sampled_token_lengths(texts, bert_path):
    """Word pieces (with BERT's two markers) in up to MAXLEN_SAMPLE of the texts."""
    import keras_bert

    vocab = (Path(bert_path) / "vocab.txt").read_text(encoding="utf-8").splitlines()
    tokenizer = keras_bert.Tokenizer({token: i for i, token in enumerate(vocab)})
    sample = texts.sample(min(len(texts), MAXLEN_SAMPLE), random_state=0)
    return np.array([len(tokenizer.tokenize(text)) for text in sample])


def auto_maxlen(lengths, cap):
    """Shortest multiple of MAXLEN_STEP that reads MAXLEN_PERCENTILE% of texts whole, within the device's cap."""
    wanted = MAXLEN_STEP * math.ceil(np.percentile(lengths, MAXLEN_PERCENTILE) / MAXLEN_STEP)
    return int(min(max(wanted, MAXLEN_STEP), cap))


def find_learning_rate(model, trn, batch_size, seed, report, plot_dir):
    """ktrain's lr_find on up to LR_FIND_BATCHES batches; returns the restored model and the chosen rate."""
    import ktrain

    (ids, segments), y = trn
    rows = min(len(y), LR_FIND_BATCHES * batch_size)
    pick = np.random.default_rng(seed).permutation(len(y))[:rows]
    finder = ktrain.get_learner(model, train_data=([ids[pick], segments[pick]], y[pick]), batch_size=batch_size)
    # Whole epochs only, so stay at or under the batch budget rather than overshoot it by up to an epoch.
    finder.lr_find(max_epochs=max(1, LR_FIND_BATCHES // math.ceil(rows / batch_size)), verbose=1)
    if not finder.lr_finder.find_called():
        raise KeyboardInterrupt  # ktrain swallows Ctrl-C inside lr_find; honour it
    min_gradient, min_loss_over_10, valley = finder.lr_estimate()
    chosen = float(np.clip(min_loss_over_10, *LR_BOUNDS))
    save_lr_plot(finder, chosen, plot_dir / "lr_find.png")
    report.facts["lr"] = {
        "chosen": chosen,
        "source": "lr_find: min loss / 10" + ("" if chosen == min_loss_over_10 else f", clipped to {LR_BOUNDS}"),
        "why": "a tenth of the rate at the lowest loss is the classic one-cycle choice and the steadiest of ktrain's "
               "three on BERT's flat-then-cliff curve; on our sample data the longest valley (1.9e-5) underfit "
               "(36% accuracy) and the min gradient (2.9e-7) barely moves the weights",
        "estimates": {"min_numerical_gradient": _float(min_gradient), "min_loss_div_10": _float(min_loss_over_10),
                      "longest_valley": _float(valley)},
        "batches": len(finder.lr_finder.lrs),
    }
    # lr_find reloads the model it started from into finder.model; the old object holds the sweep's wrecked weights.
    return finder.model, chosen


def save_lr_plot(finder, chosen, path):
    """ktrain's loss-vs-rate curve (its suggestions in red and purple) with the rate we chose as a green line."""
    import matplotlib.pyplot as plt

    figure = finder.lr_plot(suggest=True, return_fig=True)
    axes = figure.axes[0]
    axes.axvline(chosen, color="green", linestyle="--")
    axes.set_title(f"lr_find: chosen rate {chosen:.1e} (green); ktrain's valley (red), min gradient (purple)",
                   fontsize=9)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _float(value):
    return None if value is None else float(value)


def evaluate(y_encoded, probabilities, classes, multilabel):
    if multilabel:
        return metrics.multilabel_metrics(np.asarray(y_encoded).astype(int), probabilities, classes)
    return metrics.single_label_metrics(np.asarray(y_encoded).argmax(axis=1), probabilities, classes)


def with_fresh_optimizer(model, multilabel):
    """The model recompiled with a new Adam that has no state yet."""
    import tensorflow as tf

    model.compile(loss=model.loss, optimizer=tf.keras.optimizers.legacy.Adam(),
                  metrics=["binary_accuracy" if multilabel else "accuracy"])
    return model


def staging_dir(out):
    """A hidden sibling folder of `out` (same filesystem, so the final move is a rename); list_models skips it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.saving-", dir=out.parent))


def write_model(folder, predictor, check_texts, scores, report, facts):
    """Save predictor, metrics and settings into `folder`, then prove the saved predictor reloads and agrees."""
    import ktrain

    with report.timed("save"):
        predictor.save(str(folder))
        expected = predictor.predict(check_texts, return_proba=True)
        reloaded = ktrain.load_predictor(str(folder)).predict(check_texts, return_proba=True)
        difference = float(np.abs(np.asarray(expected) - np.asarray(reloaded)).max())
    if difference > RELOAD_TOLERANCE:
        raise RuntimeError(f"the reloaded predictor disagrees with the trained one by {difference:.2e}")
    metrics.plot_confusion(scores, folder / "confusion_matrix.png")
    (folder / METRICS_FILE).write_text(json.dumps(scores, indent=2))
    record = {**facts, "reload_check": {"rows": len(check_texts), "max_difference": difference},
              "versions": library_versions(), "started_at": report.started_at,
              "finished_at": dt.datetime.now().isoformat(timespec="seconds"), "durations_s": report.durations_s}
    (folder / TRAINING_FILE).write_text(json.dumps(record, indent=2, default=str))


def replace_dir(new, target):
    """Move `new` to `target`, swapping out an existing `target` so that one of the two is always whole."""
    if not target.exists():
        new.rename(target)
        return
    old = target.with_name(f".{target.name}.replaced-{os.getpid()}")
    target.rename(old)
    try:
        new.rename(target)
    except BaseException:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def settings_record(settings):
    return {key: (str(value) if isinstance(value, Path) else value) for key, value in asdict(settings).items()}


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions():
    names = ["tensorflow", "tf-keras", "ktrain", "keras-bert", "transformers", "numpy", "pandas", "scikit-learn"]
    return {"python": platform.python_version(), **{name: importlib.metadata.version(name) for name in names}}


def summary(out, scores, report):
    """A few lines for the end of the run: metrics, time, where the model is."""
    if scores["task"] == "single-label":
        headline = f"accuracy {scores['accuracy']:.3f}, macro-F1 {scores['macro_f1']:.3f}"
    else:
        headline = f"micro-F1 {scores['micro_f1']:.3f}, macro-F1 {scores['macro_f1']:.3f}"
    minutes = sum(report.durations_s.values()) / 60
    return (f"\nDone in {minutes:.1f} min. Validation ({scores['rows']} rows): {headline}.\n"
            f"Model saved to {out}\n  load it with ktrain.load_predictor({str(out)!r}), or run: streamlit run app.py")
