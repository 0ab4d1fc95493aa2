"""Train a review classifier on a labelled table, evaluate it, and save it without ever half-writing.

The model is BERT fine-tuned with ktrain, ktrain's NBSVM, or both combined (the default): see predictor/hybrid.py
for why, and predictor/model_folder.py for what is saved. Each step returns what it found; the record is built once,
in train(), from those results.
"""
import contextlib
import ctypes
import datetime as dt
import hashlib
import importlib.metadata
import io
import math
import platform
import shutil
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from predictor import (audit, bert_graph, calibration, corrected_rows, corrections, dataset, hybrid, ktrain_nbsvm,
                       metrics, model_folder, nbsvm, runtime, tables, tf_setup, thresholds, unlabelled, unlike)
from predictor.device import Device, detect_device
from predictor.errors import UserError
from predictor.model_folder import BERT, MEMBER_PATHS, NBSVM, Member, TrainingRecord
from predictor.models import BertMember, Model, NbsvmMember, Scorer
from predictor.markup import HTML, MARKUPS, to_text
from predictor.pieces import DEFAULT_OVERLAP, HEAD, READINGS, WINDOWS, WordPieces, longer_share
from predictor import pieces as pieces_module  # `pieces` names a run's WordPieces below
from predictor.weights import BERT_CHOICES, OFFLINE, BertWeights, resolve_bert, use_bert

HYBRID = "hybrid"
CLASSIFIERS = (HYBRID, BERT, NBSVM)
# The blend is chosen per model on its validation rows (predictor/hybrid.py). Hybrid is the default, reading windows:
# judged on 2,000 IMDB dev rows (imdb_train rows no training sample holds) at 500 and 2,000 training rows, the hybrid
# scored 83.9% / 89.05% against BERT alone over windows 82.8% / 88.5%, NBSVM alone 81.5% / 88.7% and BERT alone reading
# the head 78.25% / 83.15% (bench/results/defaults.json). Both were first drawn from test rows (issue 8); the dev rows
# confirmed them (issue 23).
DEFAULT_CLASSIFIER = HYBRID
DEFAULT_READING = WINDOWS  # see predictor/pieces.py
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
DEFAULT_VAL_FRACTION = 0.1
# Below these, validation scores are too rough to judge a model by (one row of 50 moves accuracy by 2 points).
MIN_VALIDATION_ROWS = 50
MIN_VALIDATION_PER_CLASS = 5
DEFAULT_SEED = 42
MAX_BERT_MAXLEN = 512  # BERT's position embeddings stop here
MAXLEN_PERCENTILE = 95  # the automatic maxlen reads this share of training texts in full...
MAXLEN_STEP = 32  # ...rounded up to a multiple of this, at least one step
MAXLEN_SAMPLE = 2000  # texts tokenized to estimate lengths; more changes the percentile very little
# lr_find sweeps from 1e-7 upwards one batch at a time: at most LR_FIND_BATCHES batches (more would cost more than
# the training itself on a large dataset), and no more than half the batches the fit itself will run, but at least
# LR_FIND_MIN_BATCHES: on the bundled sample (4 epochs of 10 batches) 20 batches instead of 64. Whatever it
# suggests, the rate used stays in LR_BAND (python -m bench.lr_budget shows the suggestions at each budget).
LR_FIND_BATCHES = 64
LR_FIND_MIN_BATCHES = 16
PROGRESS_EVERY_S = 30  # how often train.py says where BERT's training is, within an epoch
# How often train.py says that a step with no figures of its own to report (the learning-rate search, saving BERT) is
# still going: each takes half a minute or more on the sample, and that long a silence looks like a hang.
STILL_EVERY_S = 10
PRECISION_WORDS = {runtime.FP32: "32-bit numbers (fp32)", runtime.BF16: "16-bit numbers (bf16)"}
# Where MiniLM trains well (bench/results/lr_sweep.json, validation rows of IMDB 2k and TREC 1k, one seed each): 1e-4
# and 2e-4 were within 2 points of the best fixed rate on both (IMDB 0.800 / 0.810, best 0.810; TREC 0.92 / 0.93,
# best 0.93); 5e-5 was on IMDB (0.795) but not on TREC (0.90), 2e-5 on neither (and 1e-5 left a kept-back set at 67%,
# issue 8). An lr_find suggestion outside it is not trusted.
LR_BAND = (1e-4, 2e-4)
FALLBACK_LR = 1e-4  # the rate every benchmark model since issue 8 fell back to; good on both sweep sets
# ktrain's IMDb NBSVM recipe (tutorials/tutorial-04-text-classification.ipynb): word ids with up to 80,000 words,
# sequences of 2,000 ids, 1-3 grams, 'standard' preprocessing; autofit(0.001, 3) trains it with the triangular
# policy. 92.0% on IMDB 25k here (bench/README), within 0.3 points of the tutorial's 92.27%.
NBSVM_RECIPE = {"max_features": 80000, "maxlen": 2000, "ngram_range": 3, "lr": 0.001, "epochs": 3, "batch_size": 32}
UNLABELLED_CHUNK = 2000  # unlabelled reviews labelled between two progress lines: about 40 s on 2 cores
RELOAD_CHECK_ROWS = 64  # validation rows scored again by the reloaded model before it is moved into place
RELOAD_TOLERANCE = 1e-5


def option(help: str, group: str, **argparse: object) -> dict:
    """A Settings field's command-line option, kept beside the field as Hugging Face's example scripts do; train.py
    builds its parser from these. `argparse` holds add_argument's other keywords (type, choices, action, metavar,
    default); `exclusive` names a set of options of which at most one may be given."""
    return {"cli": {"help": help, "group": group, **argparse}}


@dataclass
class Settings:
    """Everything a training run depends on; saved verbatim in training.json. Each field carries its train.py option."""

    data: Path = field(metadata=option("labelled .csv, .tsv, .xlsx or .xls", "data", type=Path))
    text_column: str = field(metadata=option("column holding the texts", "data"))
    label_columns: list = field(metadata=option(
        "column of class labels; repeat it for multi-label 0/1 columns", "data", flag="--label-column",
        action="append", metavar="COL"))
    val_data: Path | None = field(default=None, metadata=option(
        "separate labelled file for validation", "data", type=Path, exclusive="split"))
    val_fraction: float = field(default=DEFAULT_VAL_FRACTION, metadata=option(
        "share of rows held out for validation, stratified by class (default: %(default)s)", "data", type=float,
        exclusive="split"))
    sheet: str | None = field(default=None, metadata=option("Excel sheet to read (default: the first)", "data"))
    # A model in the models folder whose analysts' corrections (predictor/corrections.py) are merged into the training
    # rows: a name or path; the folder itself may be gone, its corrections outlive it. See with_corrections.
    corrections: Path | None = field(default=None, metadata=option(
        "add the corrections analysts saved in the page for this model (a name or path in the models folder; its "
        "folder may be gone): a corrected text that is in the data takes the corrected label, the others are added "
        "as rows", "data", type=Path, metavar="MODEL"))
    allow_new_classes: bool = field(default=False, metadata=option(
        "train a corrected label that is not a class of the data as a new class (without it, such a correction stops "
        "the run with a message)", "data", action="store_true"))
    unlabelled: Path | None = field(default=None, metadata=option(
        "a .csv, .tsv, .xlsx or .xls file of reviews without labels (in the same --text-column) to learn from too: "
        "the model is trained, labels these reviews, and NBSVM is trained again with the ones it is surest of "
        "(self-training; single-label data; costs scoring the file, about 45 reviews/s on 2 cores)", "data",
        type=Path, metavar="FILE"))
    classifier: str = field(default=DEFAULT_CLASSIFIER, metadata=option(
        "'hybrid' trains BERT and ktrain's NBSVM and blends them with a weight chosen on the validation rows (never "
        "worse there than either alone); 'bert' or 'nbsvm' trains one (default: %(default)s)", "model",
        choices=CLASSIFIERS))
    # Fixing the blend is for validation sets too small to choose it on (a few rows cannot tell a blend from noise).
    bert_weight: float | None = field(default=None, metadata=option(
        "BERT's share of a hybrid's blend, from 0 (NBSVM alone) to 1 (BERT alone), for every label (default: chosen "
        "on the validation rows)", "model", type=float))
    reading: str = field(default=DEFAULT_READING, metadata=option(
        "how BERT reads texts longer than maxlen: 'windows' trains on the start and end and scores windows side "
        "by side over the whole text; 'head+tail' keeps the start and end; 'head' keeps the start "
        "(default: %(default)s)", "model", choices=READINGS))
    markup: str = field(default=HTML, metadata=option(  # applied at training and scoring alike: predictor/markup.py
        "'html' turns HTML in the texts (<br />, &amp;...) into the text a reader sees, at training and scoring "
        "alike; 'keep' reads texts exactly as written (default: %(default)s)", "model", choices=MARKUPS))
    bert: str = field(default=OFFLINE, metadata=option(
        "pretrained weights: 'offline' is all-MiniLM-L6-v2 shipped as a pip package, no network needed; "
        "'bert-base-uncased' is ktrain's download (default: %(default)s)", "model", choices=BERT_CHOICES,
        exclusive="weights"))
    bert_dir: Path | None = field(default=None, metadata=option(
        "folder of a local Google-format BERT checkpoint", "model", type=Path, exclusive="weights"))
    maxlen: int | None = field(default=None, metadata=option(  # None: from the data, see auto_maxlen
        "word pieces read per text, at most 512 (default: enough for 95%% of the texts, capped at 128 on a CPU and "
        "256 on a GPU)", "model", type=int))
    batch_size: int | None = field(default=None, metadata=option(  # None: the device's default
        "(default: 32)", "model", type=int))
    epochs: int | None = field(default=None, metadata=option(  # None: from the data, see auto_epochs
        "BERT epochs (default: about 30,000 examples of 128 pieces in all, shorter texts counting for less, 1 to 4)",
        "model", type=int))
    lr: float | None = field(default=None, metadata=option(  # None: from learner.lr_find(), see choose_rate
        "BERT learning rate, or 'auto' to estimate it with lr_find, falling back to 1e-4 when its estimate is "
        "unusable (default: %(default)s)", "model", default="auto"))
    seed: int = field(default=DEFAULT_SEED, metadata=option("(default: %(default)s)", "model", type=int))
    out: Path | None = field(default=None, metadata=option(
        "model folder to create (default: a new folder under models/)", "output", type=Path))
    force: bool = field(default=False, metadata=option(
        "replace --out if it holds a model already", "output", action="store_true"))
    make_default: bool = field(default=False, metadata=option(
        "make this model the one the page opens with and score.py uses (the first model trained is the default "
        "until someone chooses another)", "output", action="store_true"))


@dataclass
class Stopwatch:
    """How long each step took, for training.json and the closing summary."""

    durations_s: dict = field(default_factory=dict)

    @contextlib.contextmanager
    def timed(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.durations_s[name] = round(time.perf_counter() - start, 2)


@dataclass(frozen=True)
class Labelled:
    """The user's rows, cleaned and split, and where they came from."""

    train: dataset.LabelledRows
    val: dataset.LabelledRows
    sources: dict
    counts: dict  # rows read, dropped by reason, train, validation
    # The training file's rows (with the corrections merged), before the split and as written, and where each text
    # first stands in the file: what the label audit ranks and shows (predictor/audit.py).
    file_rows: dataset.LabelledRows
    positions: dict


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


@dataclass(frozen=True)
class BertRun:
    """A fine-tuned BERT in memory: the ktrain predictor to save (its Keras model scores while it is checked), how to
    read texts, and how its rate was chosen."""

    predictor: object
    pieces: WordPieces
    lr: dict


@dataclass(frozen=True)
class NbsvmRun:
    predictors: list  # ktrain predictors to save: one, or one per label


@dataclass(frozen=True)
class Saved:
    """A member as saved in the staging folder and scored from there, as the app will score it: the member, its
    validation probabilities, and its entries for the record's `runtime`."""

    member: BertMember | NbsvmMember
    probabilities: np.ndarray
    runtime: dict


def train(settings: Settings, log: Callable[[str], None] = print) -> Path:
    """Run the whole pipeline and return the saved model's folder."""
    started_at = now()
    clock = Stopwatch()
    out = model_folder.new_folder_path(settings.out, settings.data, settings.force)
    check_settings(settings)
    with clock.timed("read"):
        labelled = read_labelled(settings)
        pool = read_unlabelled(settings, labelled)
    import ktrain  # noqa: F401  (only now: --help and bad-input messages should not wait seconds for TensorFlow)

    tf_setup.keras_input_without_autotune()

    plan = make_plan(settings, labelled.train)
    log(describe(plan, settings, labelled))
    classes = dataset.classes_of(labelled.train)
    multilabel = labelled.train.multilabel
    val_texts = labelled.val.frame[dataset.TEXT].tolist()
    y_val = label_matrix(labelled.val, classes)
    cautions = validation_warnings(y_val, classes, multilabel)
    for caution in cautions:
        log(f"Warning: {caution}")
    with model_folder.staged(out) as staging, private_temp_files():
        saved, lr = fit_members(labelled, plan, settings, staging, clock, log)
        taught = None
        if pool is not None and NBSVM in saved:
            saved, taught = learn_from_unlabelled(labelled, pool, saved, settings, staging, clock, log)
        with clock.timed("label_audit"), still_working(log, "auditing the labels"):
            label_audit = audit_labels(labelled, classes, settings, log)
        audit.write(label_audit, staging)
        if not saved:
            raise UserError("NBSVM alone cannot learn this data: a label is the same on every training row. Train with "
                            "--classifier hybrid or --classifier bert, or add rows where that label differs.")
        with clock.timed("evaluate"):
            member_probabilities = {kind: s.probabilities for kind, s in saved.items()}
            bert_weight, combination = combination_for(y_val, member_probabilities, multilabel, settings.bert_weight)
            blended = hybrid.combine(member_probabilities.get(BERT), member_probabilities.get(NBSVM), bert_weight)
            calibrated = calibrated_record(y_val, blended, multilabel, len(val_texts))
            model = Model(classes, multilabel, saved[BERT].member if BERT in saved else None,
                          saved[NBSVM].member if NBSVM in saved else None, bert_weight, settings.markup,
                          calibrated["temperatures"])
            # The members' validation probabilities blended and calibrated: what model.score gives, without a second
            # pass. Calibration changes no label at the default threshold; the record keeps both ECEs.
            probabilities = model.blend(member_probabilities.get(BERT), member_probabilities.get(NBSVM))
            bars, threshold_choice = thresholds_for(y_val, probabilities, multilabel)
            scores = {**evaluate(y_val, probabilities, classes, multilabel, bars), "calibration": calibrated}
        # Each member on its own and the blend, at the default threshold: the blend was chosen there.
        members = [Member(kind, MEMBER_PATHS[kind], evaluate(y_val, p, classes, multilabel))
                   for kind, p in member_probabilities.items()]
        log(describe_combination(members, bert_weight, evaluate(y_val, probabilities, classes, multilabel),
                                 settings.bert_weight is not None))
        if multilabel:
            log(describe_thresholds(threshold_choice))
        metrics.plot_confusion(scores, staging / model_folder.CONFUSION_FILE)
        if calibrated["temperatures"]:
            metrics.plot_reliability(calibrated, staging / model_folder.RELIABILITY_FILE)
        record = TrainingRecord(
            classes=classes, multilabel=multilabel, classifier=settings.classifier, members=members,
            bert_weight=bert_weight, reading=settings.reading if BERT in saved else HEAD, markup=settings.markup,
            maxlen=plan.maxlen if BERT in saved else None,
            settings={**settings_record(settings), "maxlen": plan.maxlen, "batch_size": plan.batch_size,
                      "epochs": plan.epochs, "lr": lr["chosen"] if lr else None},
            data=labelled.sources, rows={**labelled.counts, "longer_than_maxlen": plan.longer_than_maxlen,
                                            unlike.RECORD_KEY: plan.lengths},
            lr=lr, combination=combination, device=asdict(plan.device),
            bert={"name": plan.weights.name, "path": str(plan.weights.path)} if BERT in saved else None,
            versions=library_versions(), started_at=started_at, warnings=cautions,
            runtime={key: value for s in saved.values() for key, value in s.runtime.items()},
            window_overlap=DEFAULT_OVERLAP, calibration=calibrated, thresholds=bars, threshold_choice=threshold_choice,
            label_audit=label_audit.record, self_training=taught or {})
        # The folder is read back as the app reads it, which needs the record on disk; its result completes the record.
        model_folder.write(staging, record, scores)
        with clock.timed("reload_check"):
            # The folder's graph is the one this model runs (compiled once: GraphForward.shared), checked against the
            # Keras model already; what is read back here is everything else: record, vocabulary, NBSVM's arrays.
            difference = reload_difference(staging, model, val_texts[:RELOAD_CHECK_ROWS])
        if difference > RELOAD_TOLERANCE:
            raise RuntimeError(f"the reloaded model disagrees with the trained one by {difference:.2e}")
        record = replace(record, reload_check={"rows": min(len(val_texts), RELOAD_CHECK_ROWS),
                                               "max_difference": difference},
                         finished_at=now(), durations_s=clock.durations_s)
        model_folder.write(staging, record, scores)
    log(summary(out, record, scores, clock, labelled.counts.get("corrections")))
    log(settle_default(out, settings.make_default))
    return out


def fit_members(labelled: Labelled, plan: Plan, settings: Settings, folder: Path, clock: Stopwatch,
                log: Callable[[str], None]) -> tuple[dict, dict | None]:
    """Train the members settings.classifier names on the training rows, save each into `folder` and score the
    validation rows with the saved copy, as the page will score it. Returns the Saved members by kind, and how BERT's
    learning rate was chosen (None without BERT)."""
    classes = dataset.classes_of(labelled.train)
    multilabel = labelled.train.multilabel
    val_texts = labelled.val.frame[dataset.TEXT].tolist()
    y_val = label_matrix(labelled.val, classes)
    saved, lr = {}, None
    if settings.classifier in (HYBRID, BERT):
        bert_run = fit_bert(labelled, plan, settings, folder, clock, log)
        lr, pieces, check_texts = bert_run.lr, bert_run.pieces, val_texts[:runtime.CHECK_ROWS]
        log("Saving BERT:")
        with clock.timed("save_bert"), still_working(log, "saving BERT"):
            log("  writing the trained model and its vocabulary...")
            weights, expected = save_bert(folder, bert_run, plan, settings, check_texts)
            del bert_run  # the Keras model: scoring from the saved graph no longer needs it
            release_tensorflow()
            log("  converting it into the faster form the page and score.py run (an OpenVINO graph)...")
            runtime.export(weights, folder)
            del weights  # each step holds as little as it can: the training's peak is the run's peak
            log(f"  checking that the converted copy gives the trained model's answers, and scoring the "
                f"{len(val_texts)} validation rows with it...")
            saved[BERT] = checked_bert(folder, expected, pieces, plan, settings, check_texts, val_texts, y_val,
                                       classes, multilabel)
        log(describe_precision(saved[BERT].runtime["precision_check"]))
    if settings.classifier in (HYBRID, NBSVM):
        log("Training NBSVM (word 1-3 grams)...")
        with clock.timed("fit_nbsvm"), still_working(log, "training NBSVM"):
            nbsvm_run = fit_nbsvm(labelled, classes, settings.seed, log)
        if nbsvm_run is not None:
            log(f"Saving NBSVM, checking the saved copy gives its answers, and scoring the {len(val_texts)} "
                "validation rows with it...")
            with clock.timed("save_nbsvm"), still_working(log, "saving NBSVM"):
                saved[NBSVM] = save_nbsvm(folder, nbsvm_run, val_texts, multilabel, classes)
            del nbsvm_run  # ktrain's NBSVM in Keras: its arrays score it from now on
            release_tensorflow()
    return saved, lr


# ---------------------------------------------------------------------------------------------------------------------
# Data and plan


def read_labelled(settings: Settings) -> Labelled:
    """Clean training and validation rows from the user's file(s), with their sources and row counts."""
    frame, facts = tables.read(settings.data, sheet=settings.sheet)
    where = Path(settings.data).name
    rows = dataset.labelled_rows(frame, settings.text_column, settings.label_columns, where, facts)
    sources = {"path": str(Path(settings.data).resolve()), "sha256": sha256(settings.data),
               "sheet": facts.sheet}
    val = None
    if settings.val_data is not None:
        val_table, val_facts = tables.read(settings.val_data, sheet=settings.sheet)
        val = dataset.labelled_rows(val_table, settings.text_column, settings.label_columns,
                                    Path(settings.val_data).name, val_facts)
        sources["validation"] = {"path": str(Path(settings.val_data).resolve()), "sha256": sha256(settings.val_data)}
    rows, val, corrected = with_corrections(rows, val, settings)
    if corrected and (corrected["added"] or corrected["replaced"]):
        where = f"{where} with the corrections of {corrected['model']}"
    dataset.check_classes(rows, where)
    if val is None:
        # Corrected rows are split like any other row, so about a tenth of them are validation rows. That is wanted:
        # validation stays a sample of all the rows trained on (corrected ones are the texts the old model got wrong,
        # so the scores and the hybrid's blend weight are judged on some of them too), and a new class
        # (--allow-new-classes) gets validation rows and scores like any class, instead of none.
        train_frame, val_frame = dataset.split_rows(rows, settings.val_fraction, settings.seed)
        dropped, read = rows.dropped, rows.read
    else:
        unknown = sorted(set(dataset.classes_of(val)) - set(dataset.classes_of(rows)))
        if unknown:
            raise UserError(f"{Path(settings.val_data).name} has label(s) {', '.join(map(repr, unknown))} that never "
                            "occur in the training data. Fix the labels or add training examples of them.")
        train_frame, val_frame = rows.frame, val.frame
        dropped, read = rows.dropped + val.dropped, rows.read + val.read
    train_frame, train_cleaned = cleaned(train_frame, settings.markup)
    val_frame, val_cleaned = cleaned(val_frame, settings.markup)
    counts = {"read": read, "dropped": dict(dropped), "train": len(train_frame), "validation": len(val_frame),
              "markup_converted": train_cleaned + val_cleaned}
    if corrected is not None:
        counts["corrections"] = corrected
    as_rows = lambda frame: dataset.LabelledRows(frame, rows.label_columns, rows.multilabel, len(frame))  # noqa: E731
    return Labelled(as_rows(train_frame), as_rows(val_frame), sources, counts, rows,
                    dataset.positions(frame, settings.text_column))


def read_unlabelled(settings: Settings, labelled: Labelled) -> unlabelled.Pool | None:
    """The --unlabelled file's reviews (predictor/unlabelled.py), less those of the labelled rows; None without it."""
    if settings.unlabelled is None:
        return None
    if settings.classifier == BERT:
        raise UserError("--unlabelled trains NBSVM again on the reviews the model is surest of, and --classifier bert "
                        "has no NBSVM. Train with --classifier hybrid (the default) or nbsvm, or without --unlabelled.")
    if labelled.train.multilabel:
        raise UserError("--unlabelled works with single-label data for now (one --label-column): a multi-label model "
                        "would need a label threshold to give each review its labels. Train without --unlabelled.")
    known = set(labelled.train.frame[dataset.TEXT]) | set(labelled.val.frame[dataset.TEXT])
    return unlabelled.read_pool(settings.unlabelled, settings.text_column, settings.label_columns, known,
                                settings.markup)


def learn_from_unlabelled(labelled: Labelled, pool: unlabelled.Pool, saved: dict, settings: Settings, staging: Path,
                          clock: Stopwatch, log: Callable[[str], None]) -> tuple[dict, dict]:
    """Self-training (predictor/unlabelled.py): the model just trained, blended as usual on the validation rows,
    labels the unlabelled reviews; the ones it is surest of join the training rows and NBSVM is trained again on them
    all, in place of the first NBSVM. BERT is kept as trained: training it again on the same rows took 38 minutes
    and gained nothing on dev rows (bench/self_training.py: 88.3% either way). Returns the members and the record's
    `self_training`."""
    classes = dataset.classes_of(labelled.train)
    y_val = label_matrix(labelled.val, classes)
    probabilities = {kind: s.probabilities for kind, s in saved.items()}
    weight, _ = combination_for(y_val, probabilities, False, settings.bert_weight)
    first_scores = evaluate(y_val, hybrid.combine(probabilities.get(BERT), probabilities.get(NBSVM), weight),
                            classes, False)
    log(f"Self-training: the model trained on the labelled rows scores {headline(first_scores)} on the validation "
        f"rows. It labels the {len(pool.texts):,} unlabelled reviews...")
    with clock.timed("label_unlabelled"):
        given = np.concatenate([hybrid.combine(*(saved[kind].member.predict(part) if kind in saved else None
                                                 for kind in (BERT, NBSVM)), weight)
                                for part in chunks(pool.texts, UNLABELLED_CHUNK, log, "unlabelled reviews labelled")])
    rows = unlabelled.pseudo_labelled(pool.texts, given, classes)
    both = pd.concat([labelled.train.frame, rows], ignore_index=True)
    joined = replace(labelled, train=dataset.LabelledRows(both, labelled.train.label_columns, False,
                                                          labelled.train.read))
    log(f"{len(rows):,} reviews it is surest of ({unlabelled.SHARE:.0%} of each label it gave) join the "
        f"{len(labelled.train.frame):,} labelled training rows; training NBSVM again on all {len(both):,}...")
    with clock.timed("fit_nbsvm_again"), still_working(log, "training NBSVM again"):
        nbsvm_run = fit_nbsvm(joined, classes, settings.seed, log)
    shutil.rmtree(staging / MEMBER_PATHS[NBSVM])  # the first NBSVM's files: the new one takes its place
    val_texts = labelled.val.frame[dataset.TEXT].tolist()
    with clock.timed("save_nbsvm_again"), still_working(log, "saving NBSVM"):
        saved = {**saved, NBSVM: save_nbsvm(staging, nbsvm_run, val_texts, False, classes)}
    del nbsvm_run
    release_tensorflow()
    record = {"method": "self-training: NBSVM trained again", "file": {
                  "path": str(Path(settings.unlabelled).resolve()), "sha256": sha256(settings.unlabelled)},
              "share": unlabelled.SHARE, "unlabelled_rows": pool.counts, "joined": len(rows),
              "joined_by_label": {c: int(n) for c, n in rows[dataset.LABEL].value_counts().items()},
              "nbsvm_rows": len(both),
              "before": {"validation": {k: first_scores.get(k) for k in ("accuracy", "macro_f1")},
                         "bert_weight": weight, "nbsvm_validation": evaluate(
                             y_val, probabilities[NBSVM], classes, False).get("accuracy")}}
    return saved, record


def chunks(items: list, size: int, log: Callable[[str], None], done: str) -> Iterator[list]:
    """`items` in slices of `size`, saying after each how many are done."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
        log(f"  {min(start + size, len(items)):,} of {len(items):,} {done}")


def corrections_model(value: Path) -> str:
    """The name of the model --corrections names: a name or a path, refused outside the models folder.

    Its folder may be gone (deleted, or being replaced with --force): its corrections outlive it in the models
    folder's corrections.sqlite. So a path such as models/NAME is taken as written, not by what exists.
    """
    path = Path(value)
    if not path.is_absolute() and not path.exists() and path.resolve().parent == models_root():
        path = path.resolve()  # models/NAME of a model whose folder is gone, from the folder that holds models/
    return model_folder.inside_models_dir(path).name


def with_corrections(rows: dataset.LabelledRows, val: dataset.LabelledRows | None,
                     settings: Settings) -> tuple[dataset.LabelledRows, dataset.LabelledRows | None, dict | None]:
    """The rows with the corrections of the --corrections model merged in (corrected_rows.merge), and the counts
    {"model", "added", "replaced", "unchanged"} for training.json; None for the counts without --corrections.

    A corrected text relabels its rows; other corrected texts are added to the training rows. Their labels are
    checked against the classes of the data trained on (a new one is refused unless --allow-new-classes). With
    --val-data, a corrected text found in the validation file relabels its rows there and is not added to training:
    a validation row must not be trained on, nor keep a label an analyst said is wrong.
    """
    if settings.corrections is None:
        return rows, val, None
    name = corrections_model(settings.corrections)
    latest = corrections.CorrectionsStore(corrections.store_path()).latest_by_text(name)
    counts = {"model": name, "added": 0, "replaced": 0, "unchanged": 0}
    if not latest:
        return rows, val, counts
    classes = dataset.classes_of(rows)
    val_texts = set() if val is None else set(val.frame[dataset.TEXT])  # stripped, as latest_by_text's keys are
    in_train = set(rows.frame[dataset.TEXT])
    merged, found = corrected_rows.merge(rows.frame, {text: label for text, label in latest.items()
                                                   if text in in_train or text not in val_texts},
                                      classes, settings.allow_new_classes)
    add_counts(counts, found)
    rows = relabelled(rows, merged)
    if val is not None:
        had = set(dataset.classes_of(val))
        merged, found = corrected_rows.merge(val.frame, {text: label for text, label in latest.items()
                                                      if text in val_texts}, classes, settings.allow_new_classes)
        add_counts(counts, found)
        val = relabelled(val, merged)
        extra = sorted(set(dataset.classes_of(val)) - had - set(dataset.classes_of(rows)))
        if extra:
            raise UserError(f"The corrections of {name} give rows of the validation file "
                            f"{Path(settings.val_data).name} the new label(s) {', '.join(map(repr, extra))}, which no "
                            "training row has, so the model could never predict them. Add training rows of them, or "
                            "correct those texts again in the page with a class.")
        if val.multilabel:  # a new class of the training rows applies to no validation row
            val = relabelled(val, val.frame.assign(**{c: 0 for c in rows.label_columns if c not in val.frame}))
    return rows, val, counts


def relabelled(rows: dataset.LabelledRows, frame) -> dataset.LabelledRows:
    """`rows` with a merged frame (multi-label: its label columns, the new ones last, are its class columns)."""
    labels = [c for c in frame.columns if c != dataset.TEXT] if rows.multilabel else rows.label_columns
    return dataset.LabelledRows(frame[[dataset.TEXT, *labels]] if rows.multilabel else frame, list(labels),
                                rows.multilabel, rows.read, rows.dropped)


def add_counts(counts: dict, found: dict) -> None:
    for key, n in found.items():
        counts[key] += n


def corrections_line(corrected: dict) -> str:
    """What the --corrections model's corrections did to the rows, in one sentence."""
    name = corrected["model"]
    if not any(corrected[key] for key in ("added", "replaced", "unchanged")):
        return f"Corrections: no corrections stored for {name}; trained on the data as it is."
    unchanged = f", {corrected['unchanged']} already so labelled" if corrected["unchanged"] else ""
    return f"Corrections from {name}: {corrected['added']} added, {corrected['replaced']} replaced{unchanged}."


def cleaned(frame, markup: str) -> tuple:
    """`frame` with its texts' markup handled as models.Model does at scoring, and how many texts changed."""
    texts = frame[dataset.TEXT].map(lambda text: to_text(text, markup))
    return frame.assign(**{dataset.TEXT: texts}), int((texts != frame[dataset.TEXT]).sum())


def make_plan(settings: Settings, train_rows: dataset.LabelledRows) -> Plan:
    """Device, weights, maxlen, batch size and epochs: the user's where given, else what suits the data and machine."""
    device = detect_device()
    batch_size = settings.batch_size or device.batch_size
    if settings.classifier == NBSVM:
        return Plan(device, None, None, batch_size, settings.epochs or auto_epochs(len(train_rows.frame)), {})
    weights = resolve_bert(settings.bert, settings.bert_dir)
    sample = train_rows.frame[dataset.TEXT].sample(min(len(train_rows.frame), MAXLEN_SAMPLE), random_state=0)
    pieces = WordPieces.from_vocab_file(Path(weights.path) / "vocab.txt")
    lengths = np.array([pieces.count(text) for text in sample])
    maxlen = settings.maxlen or auto_maxlen(lengths, device.maxlen_cap)
    longer = {"share": longer_share(lengths, maxlen), "of_sampled_train_rows": len(lengths)}
    epochs = settings.epochs or auto_epochs(len(train_rows.frame), maxlen)
    own = lengths - pieces_module.MARKERS  # the texts' own pieces, as scoring counts them
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
                     f"{pieces_module.reading_text(settings.reading, plan.maxlen, DEFAULT_OVERLAP)}.")
    lines.append(f"Rows: {rows['read']} read, dropped: {dropped}; {rows['train']} train, "
                 f"{rows['validation']} validation."
                 + (f" HTML turned into text in {rows['markup_converted']}." if rows["markup_converted"] else ""))
    if "corrections" in rows:
        lines.append(corrections_line(rows["corrections"]))
    return "\n".join(lines)


def check_settings(settings: Settings) -> None:
    """Fail fast on settings that cannot work, before any data is read or weights converted."""
    if settings.maxlen is not None and not 8 <= settings.maxlen <= MAX_BERT_MAXLEN:
        raise UserError(f"--maxlen {settings.maxlen} is out of range: BERT reads at most {MAX_BERT_MAXLEN} word "
                        f"pieces (and at least 8). Use --maxlen {MAX_BERT_MAXLEN} or less, or leave it out to pick it "
                        "from the data.")
    for name, value, low in [("--epochs", settings.epochs, 1), ("--batch-size", settings.batch_size, 1)]:
        if value is not None and value < low:
            raise UserError(f"{name} must be at least {low} (got {value}).")
    if settings.lr is not None and not 0 < settings.lr < 1:
        raise UserError(f"--lr {settings.lr} is not a usable learning rate; BERT fine-tuning uses about 2e-5 to 1e-4, "
                        "or pass --lr auto to estimate one.")
    if settings.classifier not in CLASSIFIERS:
        raise UserError(f"--classifier {settings.classifier!r}: use one of {', '.join(CLASSIFIERS)}.")
    if settings.bert_weight is not None and not (settings.classifier == HYBRID and 0 <= settings.bert_weight <= 1):
        raise UserError(f"--bert-weight {settings.bert_weight} needs --classifier hybrid and a share from 0 to 1 "
                        "(0.5 blends BERT and NBSVM evenly). Leave it out to choose it on the validation rows.")
    if settings.reading not in READINGS:
        raise UserError(f"--reading {settings.reading!r}: use one of {', '.join(READINGS)}.")
    if settings.markup not in MARKUPS:
        raise UserError(f"--markup {settings.markup!r}: use one of {', '.join(MARKUPS)}.")
    if settings.corrections is not None:
        corrections_model(settings.corrections)  # a UserError for a model outside the models folder
    elif settings.allow_new_classes:
        raise UserError("--allow-new-classes applies to the labels of corrections: pass it with "
                        "--corrections MODEL.")
    if settings.make_default and settings.out and Path(settings.out).resolve().parent != models_root():
        raise UserError(f"--make-default needs the model inside the models folder ({models_root()}), where the page "
                        f"and score.py look; --out {settings.out} is elsewhere. Drop --out, or give a folder in there.")


def models_root() -> Path:
    return model_folder.models_dir().resolve()


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


def settle_default(out: Path, make: bool) -> str:
    """Make `out` the default model if asked; say which model the page and score.py use now."""
    root = models_root()
    if out.resolve().parent != root:
        return f"It is outside {root}, so the page and score.py do not list it."
    if make:
        model_folder.make_default(out, root)
        return "It is now the default model: new page sessions and score.py use it."
    default = model_folder.default_name(model_folder.list_models(root), root)
    if default == out.name:
        return "It is the default model: new page sessions and score.py use it."
    return (f"The default model is still {default}: the page lists this one beside it. To make it the default, press "
            "'Make default' in the page's sidebar, or train with --make-default.")


# ---------------------------------------------------------------------------------------------------------------------
# BERT


def fit_bert(labelled: Labelled, plan: Plan, settings: Settings, staging: Path, clock: Stopwatch,
             log: Callable[[str], None]) -> BertRun:
    """Fine-tune BERT with ktrain (texts_from_df, text_classifier('bert'), lr_find, fit_onecycle)."""
    import ktrain

    log("Preparing BERT: reading the texts into word pieces and building the classifier on the pretrained weights...")
    with clock.timed("prepare_bert"), still_working(log, "preparing BERT"):
        trn, preproc, model = build_classifier(labelled.train, labelled.val, plan, settings.seed)
    pieces = WordPieces.of_preprocessor(preproc)
    # ktrain keeps the start of each text; the model trains on the part the chosen reading keeps (same ids for head).
    (_, segments), y = trn
    trn = ([pieces.training_ids(labelled.train.frame[dataset.TEXT], plan.maxlen, settings.reading), segments], y)
    if settings.lr is None:
        batches = lr_find_batches(len(trn[1]), plan.batch_size, plan.epochs)
        log(f"Finding how fast BERT should learn: a trial run on {batches} batches of training rows at rising "
            "learning rates (ktrain's lr_find)...")
        with clock.timed("lr_find"), still_working(log, "trying learning rates"):
            lr = find_learning_rate(model, trn, plan.batch_size, batches, settings.seed, staging)
    else:
        lr = {"chosen": settings.lr, "source": "--lr"}
    log(f"Training BERT with learning rate {lr['chosen']:.2e} ({lr['source']}"
        + (f": {lr['why']}" if lr.get("why") else "") + ").")
    # No validation data for Keras: its per-epoch figure read the rows as training does (never over windows), so it
    # differed from the validation reported at the end, and cost a pass over them each epoch (about a minute on IMDB).
    learner = ktrain.get_learner(model, train_data=trn, batch_size=plan.batch_size)
    with clock.timed("fit"):  # verbose=0: no "begin training using onecycle policy..." and no bar redrawn per batch
        learner.fit_onecycle(lr["chosen"], plan.epochs, verbose=0, callbacks=[fit_progress(plan.epochs, log)])
    model = with_fresh_optimizer(learner.model, labelled.train.multilabel)  # drops Adam's state: 272 -> 90 MB saved
    return BertRun(ktrain.get_predictor(model, preproc, batch_size=plan.batch_size), pieces, lr)


def build_classifier(train_rows: dataset.LabelledRows, val_rows: dataset.LabelledRows, plan: Plan,
                     seed: int) -> tuple:
    """ktrain's 'bert' preprocessing and classifier on the planned weights: (trn, preproc, model). The validation rows
    are handed to ktrain too (it would otherwise split some training rows off), but only the training rows are used."""
    import tensorflow as tf
    from ktrain import text

    # Layer names restart from scratch, or a second model trained in one process saves clashing HDF5 weight names.
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    # ktrain prints its label lists and the head of the label frame even at verbose=0: noise for our users.
    with use_bert(plan.weights), quiet():
        trn, _, preproc = text.texts_from_df(
            train_rows.frame, dataset.TEXT, label_columns=label_columns_of(train_rows), val_df=val_rows.frame,
            maxlen=plan.maxlen, preprocess_mode="bert", lang="en", verbose=0)  # our weights fix the language
        model = text.text_classifier("bert", trn, preproc=preproc, multilabel=train_rows.multilabel, verbose=0)
    # ktrain compiles every model with one shared Adam instance, whose slots from an earlier run in this process
    # would be saved again under clashing names.
    return trn, preproc, with_fresh_optimizer(model, train_rows.multilabel)


def fit_progress(epochs: int, log: Callable[[str], None]) -> object:
    """A Keras callback saying where BERT's training is, in one line at most every PROGRESS_EVERY_S seconds and at the
    end of each epoch (Keras' own bar redraws every batch and says nothing of the time left for the whole run)."""
    import tensorflow as tf

    class FitProgress(tf.keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started = self.shown = time.perf_counter()
            self.batches, self.epoch = self.params.get("steps") or 1, 0

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            if now - self.shown >= PROGRESS_EVERY_S and batch + 1 < self.batches:
                self.shown = now
                self.report(batch + 1, logs, now)

        def on_epoch_end(self, epoch, logs=None):
            self.shown = time.perf_counter()
            self.report(self.batches, logs, self.shown)

        def report(self, done, logs, now):
            total, finished = epochs * self.batches, self.epoch * self.batches + done
            figures = ", ".join(f"{name} {value:.3f}" for name, value in (logs or {}).items()
                                if name in ("loss", "accuracy", "binary_accuracy"))
            left = (now - self.started) / finished * (total - finished)
            log(f"  epoch {self.epoch + 1}/{epochs}, batch {done}/{self.batches}: {figures}"
                + (f"; about {format_duration(left)} left" if finished < total else ""))

    return FitProgress()


@contextlib.contextmanager
def still_working(log: Callable[[str], None], doing: str) -> Iterator[None]:
    """Say every STILL_EVERY_S seconds that `doing` goes on, and for how long, until the block ends. The lines come
    from a thread of their own, which quiet() lets through while it silences ktrain."""
    started, done = time.perf_counter(), threading.Event()

    def beat() -> None:
        while not done.wait(STILL_EVERY_S):
            log(f"  ... still {doing} ({format_duration(time.perf_counter() - started)} so far)")

    thread = threading.Thread(target=beat, name="still-working", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


class _OtherThreadsOnly(io.TextIOBase):
    """A stream that drops what one thread writes and passes on what the others write."""

    def __init__(self, stream: object, silenced: threading.Thread):
        self.stream, self.silenced = stream, silenced

    def write(self, text: str) -> int:
        if threading.current_thread() is not self.silenced:
            self.stream.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def quiet() -> contextlib.AbstractContextManager:
    """Silence what ktrain prints (label lists, epoch bars, hints: noise for our users, some of it even at verbose=0)
    in this thread, but not still_working's lines from their own thread."""
    return contextlib.redirect_stdout(_OtherThreadsOnly(sys.stdout, threading.current_thread()))


def format_duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def find_learning_rate(model: object, trn: tuple, batch_size: int, batches: int, seed: int, plot_dir: Path) -> dict:
    """ktrain's lr_find on at most `batches` batches of the training rows; how the rate was chosen.

    The sweep runs on `model` itself and leaves it as it found it: ktrain restores its weights and we zero Adam's
    state, so fit_onecycle then starts exactly as on a fresh model, with the training step lr_find traced (ktrain's
    default instead saves the whole model and loads a copy, which fit_onecycle must trace again: 9 s and some 300 MB
    on the sample).
    """
    import ktrain

    (ids, segments), y = trn
    rows = min(len(y), batches * batch_size)
    pick = np.random.default_rng(seed).permutation(len(y))[:rows]
    finder = ktrain.get_learner(model, train_data=([ids[pick], segments[pick]], y[pick]), batch_size=batch_size)
    # Whole epochs only, so stay at or under the batch budget rather than overshoot it by up to an epoch.
    # Its own epoch bars and hints mean nothing to our users, nor its warning that a sweep this short has too few
    # points for the numerical-gradient estimate (which we record as None and never use).
    with quiet(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        finder.lr_find(max_epochs=max(1, batches // math.ceil(rows / batch_size)), restore_weights_only=True,
                       verbose=0)
    if not finder.lr_finder.find_called():
        raise KeyboardInterrupt  # ktrain swallows Ctrl-C inside lr_find; honour it
    reset_optimizer(model)
    with quiet():
        min_gradient, min_loss_over_10, valley = finder.lr_estimate()
    lr = choose_rate(min_loss_over_10)
    lr["estimates"] = {"min_numerical_gradient": _float(min_gradient), "min_loss_div_10": _float(min_loss_over_10),
                       "longest_valley": _float(valley)}
    lr["batches"] = len(finder.lr_finder.lrs)
    save_lr_plot(finder, lr["chosen"], plot_dir / model_folder.LR_PLOT_FILE)
    return lr


def lr_find_batches(rows: int, batch_size: int, epochs: int) -> int:
    """How many batches lr_find sweeps for `epochs` of `rows` training rows (see LR_FIND_BATCHES)."""
    fit_batches = epochs * math.ceil(rows / batch_size)
    return min(LR_FIND_BATCHES, max(LR_FIND_MIN_BATCHES, fit_batches // 2))


def reset_optimizer(model: object) -> None:
    """Adam's step count and moments back to zero: the state of a freshly compiled optimizer, on the same variables,
    so the traced training step stays valid."""
    for variable in model.optimizer.variables():
        variable.assign(np.zeros(variable.shape, variable.dtype.as_numpy_dtype))


def choose_rate(suggestion: float | None) -> dict:
    """lr_find's "min loss / 10" when it lies in LR_BAND, else FALLBACK_LR, saying which and why with this run's
    figures."""
    band = f"{LR_BAND[0]:.0e}..{LR_BAND[1]:.0e}"
    if suggestion is None or not np.isfinite(suggestion):
        return {"chosen": FALLBACK_LR, "source": "fallback: lr_find gave no suggestion",
                "why": f"lr_find's loss curve gave no 'min loss / 10' estimate, so the measured default "
                       f"{FALLBACK_LR:.0e} is used"}
    if not LR_BAND[0] <= suggestion <= LR_BAND[1]:
        return {"chosen": FALLBACK_LR, "source": "fallback: lr_find's suggestion outside the band",
                "why": f"lr_find's 'min loss / 10' was {suggestion:.1e}, outside {band} where small BERTs train, "
                       f"so the measured default {FALLBACK_LR:.0e} is used"}
    return {"chosen": float(suggestion), "source": "lr_find: min loss / 10",
            "why": f"lr_find's 'min loss / 10' was {suggestion:.1e}, inside {band} where small BERTs train"}


def save_lr_plot(finder: object, chosen: float, path: Path) -> None:
    """ktrain's loss-vs-rate curve (its suggestions in red and purple) with the rate we chose as a green line."""
    import matplotlib.pyplot as plt

    with quiet():  # it prints its suggestions, which we report our own way
        figure = finder.lr_plot(suggest=True, return_fig=True)
    axes = figure.axes[0]
    axes.axvline(chosen, color="green", linestyle="--")
    axes.set_title(f"lr_find: chosen rate {chosen:.1e} (green); ktrain's valley (red), min gradient (purple)",
                   fontsize=9)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def with_fresh_optimizer(model: object, multilabel: bool) -> object:
    """The model recompiled with a new Adam that has no state yet."""
    import tensorflow as tf

    model.compile(loss=model.loss, optimizer=tf.keras.optimizers.legacy.Adam(),
                  metrics=["binary_accuracy" if multilabel else "accuracy"])
    return model


def label_columns_of(rows: dataset.LabelledRows) -> list[str]:
    return rows.label_columns if rows.multilabel else [dataset.LABEL]


# ---------------------------------------------------------------------------------------------------------------------
# NBSVM


def fit_nbsvm(labelled: Labelled, classes: list[str], seed: int, log: Callable[[str], None]) -> NbsvmRun | None:
    """ktrain's NBSVM on the same training rows; multi-label: one binary NBSVM per label (ktrain's is single-label)."""
    texts = labelled.train.frame[dataset.TEXT].tolist()
    if not labelled.train.multilabel:
        y = labelled.train.frame[dataset.LABEL].map(classes.index).to_numpy()
        return NbsvmRun([nbsvm_predictor(texts, y, classes, seed)])
    columns = [labelled.train.frame[label].to_numpy() for label in classes]
    constant = [label for label, y in zip(classes, columns) if y.min() == y.max()]
    if constant:
        log(f"NBSVM skipped: label(s) {', '.join(constant)} are the same on every training row, so no binary NBSVM "
            "can be trained for them; the model is BERT alone.")
        return None
    return NbsvmRun([nbsvm_predictor(texts, y, ["0", "1"], seed) for y in columns])


def audit_labels(labelled: Labelled, classes: list[str], settings: Settings,
                 log: Callable[[str], None]) -> audit.Audit:
    """The label audit of the training file (predictor/audit.py), and what it found in one line."""
    rows = labelled.file_rows
    if rows.multilabel:
        return audit.skipped("multi-label models are not audited yet: that needs cleanlab's multi-label ranking and "
                             "a classifier per label")
    log(f"Auditing the labels: a word-count classifier fitted on {audit.FOLDS} parts of the {len(rows.frame):,} "
        "labelled rows in turn, each row scored by the fit that did not see it...")
    shown = rows.frame[dataset.TEXT].tolist()
    texts = cleaned(rows.frame, settings.markup)[0][dataset.TEXT].tolist()
    result = audit.run(texts, shown, [labelled.positions.get(text) for text in shown],
                       rows.frame[dataset.LABEL].tolist(), classes, settings.seed)
    found = result.record
    if not found["audited"]:
        log(f"Label audit skipped: {found['why']}.")
    elif found["issues"]:
        log(f"Label audit: {found['issues']:,} of {found['rows']:,} rows have a label the audit disputes; they are "
            f"in {audit.FILE}, the most doubtful first. Check them in the page (Labels to check).")
    else:
        log(f"Label audit: no label of the {found['rows']:,} rows is disputed.")
    return result


def nbsvm_predictor(texts: list[str], y: np.ndarray, classes: list[str], seed: int) -> object:
    """One ktrain NBSVM trained with NBSVM_RECIPE on texts and class indices `y`, as a ktrain predictor."""
    import ktrain
    import tensorflow as tf
    from ktrain import text

    ktrain_nbsvm.install()  # the same model as ktrain builds, without its Python loops over every cell
    tf.keras.utils.set_random_seed(seed)
    recipe = NBSVM_RECIPE
    with quiet():  # ktrain narrates its preprocessing even at verbose=0
        # ktrain wants a validation set; a few training rows serve (only shown per epoch, never used to choose).
        trn, val, preproc = text.texts_from_array(
            texts, y, x_test=texts[:100], y_test=y[:100], class_names=classes, max_features=recipe["max_features"],
            maxlen=recipe["maxlen"], ngram_range=recipe["ngram_range"], preprocess_mode="standard", lang="en",
            random_state=seed, verbose=0)
        model = text.text_classifier("nbsvm", trn, preproc=preproc, verbose=0)
        learner = ktrain.get_learner(model, train_data=trn, val_data=val, batch_size=recipe["batch_size"])
        learner.autofit(recipe["lr"], recipe["epochs"], verbose=0)
    # A fresh optimizer, as for BERT: ktrain's shared Adam would save slots of earlier models under clashing names.
    return ktrain.get_predictor(with_fresh_optimizer(learner.model, False), preproc, batch_size=256)


# ---------------------------------------------------------------------------------------------------------------------
# Evaluation, combination and saving


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


def save_bert(folder: Path, run: BertRun, plan: Plan, settings: Settings,
              check_texts: list[str]) -> tuple[bert_graph.ClassifierWeights, np.ndarray]:
    """Save ktrain's predictor of the fine-tuned BERT into the staging folder (so ktrain.load_predictor reads it) and
    its vocabulary. Returns what the rest needs of the Keras model: its weights, and its probabilities of the rows of
    ids the graph is checked on (every window of `check_texts`, as the model reads them)."""
    run.predictor.save(str(folder / MEMBER_PATHS[BERT]))
    run.pieces.write_vocab_file(folder / model_folder.VOCAB_FILE)  # the tokenizer without unpickling ktrain
    keras = BertMember(run.predictor.model, run.pieces, plan.maxlen, settings.reading, overlap=DEFAULT_OVERLAP)
    return bert_graph.weights_of(run.predictor.model), keras.forward(check_ids(keras, check_texts))


def check_ids(member: BertMember, texts: list[str]) -> np.ndarray:
    """Every row of ids `member` reads for `texts`."""
    return np.array([row for text in texts for row in member.encode(text).ids], np.int64).reshape(-1, member.maxlen)


def checked_bert(folder: Path, expected: np.ndarray, pieces: WordPieces, plan: Plan, settings: Settings,
                 check_texts: list[str], val_texts: list[str], y_val: np.ndarray, classes: list[str],
                 multilabel: bool) -> Saved:
    """BERT's graph in the staging folder checked against the Keras model's probabilities `expected` on the rows of
    `check_texts` (runtime.ExportMismatch stops the run), then its precision: it scores every validation row in fp32
    and, where the CPU has it natively, in bfloat16, and the faster one is kept if it loses at most
    runtime.ALLOWED_LOSS of the member's validation metric. Works from the folder alone: the Keras model is gone by
    now, so that its memory and the graph's are not held at once; so is each compiled precision once scored."""
    path = folder / model_folder.ONNX_FILE

    def member(precision: str) -> BertMember:
        return BertMember(None, pieces, plan.maxlen, settings.reading, runtime.GraphForward.shared(path, precision),
                          DEFAULT_OVERLAP)

    kept = {runtime.FP32: member(runtime.FP32)}
    entry = runtime.checked_record(path, runtime.check(lambda ids: expected, kept[runtime.FP32].forward,
                                                       check_ids(kept[runtime.FP32], check_texts)))
    probabilities = {runtime.FP32: kept[runtime.FP32].predict(val_texts, plan.batch_size)}
    for precision in runtime.native_precisions()[1:]:
        kept.clear()  # one compiled graph at a time
        kept[precision] = member(precision)
        probabilities[precision] = kept[precision].predict(val_texts, plan.batch_size)
    headline_metric = "micro_f1" if multilabel else "accuracy"
    scored = {p: evaluate(y_val, q, classes, multilabel)[headline_metric] for p, q in probabilities.items()}
    reference = probabilities[runtime.FP32]
    faster = [p for p in probabilities if p != runtime.FP32]
    agreement = {p: float((predicted_labels(probabilities[p], multilabel)
                           == predicted_labels(reference, multilabel)).mean()) for p in faster}
    differences = {p: float(np.abs(probabilities[p] - reference).max(initial=0.0)) for p in faster}
    check = runtime.choose_precision(scored, headline_metric, agreement, differences, len(val_texts))
    chosen = check["chosen"]
    return Saved(kept.get(chosen) or member(chosen), probabilities[chosen],
                 {**entry, "precision": chosen, "precision_check": check, "vocab": model_folder.VOCAB_FILE})


def save_nbsvm(folder: Path, run: NbsvmRun, val_texts: list[str], multilabel: bool, classes: list[str]) -> Saved:
    """Save each NBSVM predictor (ktrain's files) and its arrays into the staging folder, check the arrays against
    ktrain on the validation texts (nbsvm.ExportMismatch stops the run), and score the validation rows with them."""
    directories = model_folder.predictor_dirs(folder / MEMBER_PATHS[NBSVM], NBSVM, multilabel, len(classes))
    arrays = []
    for directory, predictor in zip(directories, run.predictors):
        directory.mkdir(parents=True, exist_ok=True)
        predictor.save(str(directory))
        arrays.append(nbsvm.NbsvmArrays(nbsvm.export(predictor, directory)))
    entry = nbsvm.checked_record(nbsvm.check(run.predictors, arrays, val_texts[:runtime.CHECK_ROWS]))
    member = NbsvmMember(arrays, multilabel)
    return Saved(member, member.predict(val_texts), {"nbsvm": entry})


def predicted_labels(probabilities: np.ndarray, multilabel: bool) -> np.ndarray:
    """Each row's class index (single-label) or its 0/1 labels at the threshold (multi-label)."""
    if multilabel:
        return probabilities >= thresholds.DEFAULT
    return probabilities.argmax(axis=1)


@contextlib.contextmanager
def private_temp_files() -> Iterator[None]:
    """ktrain writes weight files with tempfile.mkstemp and never removes them (lr_find: the whole model, 90 MB for
    MiniLM, each run; NBSVM's autofit too): they go to a folder of their own, removed when the block ends."""
    folder = tempfile.mkdtemp(prefix="review-predictor-")
    previous, tempfile.tempdir = tempfile.tempdir, folder
    try:
        yield
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(folder, ignore_errors=True)


def release_tensorflow() -> None:
    """Free the Keras models of this run (Keras keeps every layer built in the session alive until cleared) and hand
    the memory back to the system, so that what comes next does not stack on the training's peak."""
    import gc

    import tensorflow as tf

    tf.keras.backend.clear_session()
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # glibc's; elsewhere the freed memory is simply reused
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def reload_difference(folder: Path, model: Model, texts: list[str]) -> float:
    """Largest difference between the trained model's probabilities and the saved folder's, read back as the app
    reads it."""
    if not texts:
        return 0.0
    expected = model.score(texts).probabilities
    return float(np.abs(expected - Scorer(folder).predict_proba(texts)).max())


# ---------------------------------------------------------------------------------------------------------------------
# Small helpers


def settings_record(settings: Settings) -> dict:
    return {key: (str(value) if isinstance(value, Path) else value) for key, value in asdict(settings).items()}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict:
    names = ["tensorflow", "tf-keras", "ktrain", "keras-bert", "transformers", "numpy", "pandas", "scikit-learn"]
    return {"python": platform.python_version(), **{name: importlib.metadata.version(name) for name in names}}


def now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


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


def describe_precision(check: dict) -> str:
    """One line: the precision BERT scores with, and why."""
    return f"BERT will score with {PRECISION_WORDS.get(check['chosen'], check['chosen'])}: {check['why']}."


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


def summary(out: Path, record: TrainingRecord, scores: dict, clock: Stopwatch, corrected: dict | None = None) -> str:
    """A few lines for the end of the run: metrics, time, corrections used, where the model and its plots are."""
    minutes = sum(clock.durations_s.values()) / 60
    rough = " (rough: see the warnings above)" if record.warnings else ""
    first = record.members[0]  # BERT when there is one
    ktrain_dirs = model_folder.member_dirs(out, first, record)  # one per label for a multi-label NBSVM
    ktrain_dir = ktrain_dirs[0]
    plots = [f"{name} ({what})" for name, what in [(model_folder.CONFUSION_FILE, "validation"),
                                                   (model_folder.LR_PLOT_FILE, "the learning-rate search")]
             if (out / name).is_file()]
    return (f"\nDone in {minutes:.1f} min. Validation ({scores['rows']} rows): {headline(scores)}{rough}.\n"
            + (f"{corrections_line(corrected)}\n" if corrected is not None else "")
            + f"Model saved to {out}\n  use it: streamlit run app.py (the page), or python score.py YOUR_FILE.xlsx\n"
            f"  from Python: ktrain.load_predictor({str(ktrain_dir)!r}) loads "
            + (f"its {first.kind.upper()} part alone" if len(record.members) > 1 else "it")
            + (f", for the label {record.classes[0]} only (each label has a folder of its own)"
               if len(ktrain_dirs) > 1 else "")
            + (f"\n  plots in that folder: {', '.join(plots)}" if plots else ""))
