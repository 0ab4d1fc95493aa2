"""train(): the whole pipeline, from reading the rows to the model folder moved into place, with the record built
once from what each step returned; self-training on --unlabelled reviews and the label audit run inside it.
"""
import importlib.metadata
import platform
import shutil
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from predictor import audit, dataset, hybrid, metrics, model_folder, tf_setup, unlabelled, unlike
from predictor.errors import UserError
from predictor.model_folder import BERT, MEMBER_PATHS, NBSVM, Member, TrainingRecord
from predictor.models import Model, load_model
from predictor.bert.tokenizer import DEFAULT_OVERLAP, HEAD
from predictor.training.evaluation import (
    calibrated_record, combination_for, describe_combination, describe_thresholds, evaluate, headline, label_matrix,
    thresholds_for)
from predictor.training.members import fit_members, fit_nbsvm, private_temp_files, release_tensorflow, save_nbsvm
from predictor.training.plan import describe, make_plan, validation_warnings
from predictor.training.progress import Stopwatch, chunks, now, still_working
from predictor.corrections.merge import corrections_line
from predictor.training.rows import Labelled, cleaned, read_labelled, read_unlabelled, sha256
from predictor.training.settings import Settings, check_settings, models_root


UNLABELLED_CHUNK = 2000  # unlabelled reviews labelled between two progress lines: about 40 s on 2 cores
RELOAD_CHECK_ROWS = 64  # validation rows scored again by the reloaded model before it is moved into place
RELOAD_TOLERANCE = 1e-5


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
        saved, lr = fit_members(labelled, plan, settings.classifier, settings.reading, settings.lr, settings.seed,
                                staging, clock, log)
        taught = None
        if pool is not None:  # read_unlabelled refused the models without an NBSVM
            saved, taught = learn_from_unlabelled(labelled, pool, saved, settings.bert_weight, settings.seed, staging,
                                                  clock, log)
        with clock.timed("label_audit"), still_working(log, "auditing the labels"):
            label_audit = audit_labels(labelled, classes, settings.markup, settings.seed, log)
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
        with clock.timed("reload_check"):
            # The folder is read back as the app reads it, with the record as it will be written. The folder's graph
            # is the one this model runs (compiled once: GraphForward.shared), checked against the Keras model
            # already; what is read back here is everything else: record, vocabulary, NBSVM's arrays.
            saved_as = model_folder.read_with(staging, model_folder.record_json(record), scores)
            difference = reload_difference(saved_as, model, val_texts[:RELOAD_CHECK_ROWS])
        if difference > RELOAD_TOLERANCE:
            raise RuntimeError(f"the reloaded model disagrees with the trained one by {difference:.2e}")
        record = replace(record, reload_check={"rows": min(len(val_texts), RELOAD_CHECK_ROWS),
                                               "max_difference": difference},
                         finished_at=now(), durations_s=clock.durations_s)
        model_folder.write(staging, record, scores)  # the record's one write, complete
    log(summary(out, record, scores, clock, labelled.counts.get("corrections")))
    log(settle_default(out, settings.make_default))
    return out


def learn_from_unlabelled(labelled: Labelled, pool: unlabelled.Pool, saved: dict, bert_weight: float | None,
                          seed: int, staging: Path, clock: Stopwatch,
                          log: Callable[[str], None]) -> tuple[dict, dict]:
    """Self-training (predictor/unlabelled.py): the model just trained, blended as usual on the validation rows,
    labels the unlabelled reviews; the ones it is surest of join the training rows and NBSVM is trained again on them
    all, in place of the first NBSVM. BERT is kept as trained: training it again on the same rows took 40 minutes
    and gained nothing on dev rows (bench/self_training.py: 88.3% either way). `bert_weight` is --bert-weight (None:
    the blend chosen on the validation rows), `seed` NBSVM's. Returns the members and the record's
    `self_training`."""
    classes = dataset.classes_of(labelled.train)
    y_val = label_matrix(labelled.val, classes)
    probabilities = {kind: s.probabilities for kind, s in saved.items()}
    weight, _ = combination_for(y_val, probabilities, False, bert_weight)
    first_scores = evaluate(y_val, hybrid.combine(probabilities.get(BERT), probabilities.get(NBSVM), weight),
                            classes, False)
    log(f"Self-training: the model trained on the labelled rows scores {headline(first_scores)} on the validation "
        f"rows. It labels the {len(pool.texts):,} unlabelled reviews...")

    def labels_of(texts: list[str]) -> np.ndarray:  # the blend chosen on the validation rows, not calibrated
        bert = saved[BERT].member.predict(texts) if BERT in saved else None
        return hybrid.combine(bert, saved[NBSVM].member.predict(texts), weight)

    with clock.timed("label_unlabelled"):
        given = np.concatenate([labels_of(part) for part in chunks(pool.texts, UNLABELLED_CHUNK, log,
                                                                     "unlabelled reviews labelled")])
    rows = unlabelled.pseudo_labelled(pool.texts, given, classes)
    both = pd.concat([labelled.train.frame, rows], ignore_index=True)
    joined = replace(labelled, train=dataset.LabelledRows(both, labelled.train.label_columns, False,
                                                          labelled.train.read))
    log(f"{len(rows):,} reviews it is surest of ({unlabelled.SHARE:.0%} of each label it gave) join the "
        f"{len(labelled.train.frame):,} labelled training rows; training NBSVM again on all {len(both):,}...")
    with clock.timed("fit_nbsvm_again"), still_working(log, "training NBSVM again"):
        nbsvm_run = fit_nbsvm(joined, classes, seed, log)
    shutil.rmtree(staging / MEMBER_PATHS[NBSVM])  # the first NBSVM's files: the new one takes its place
    val_texts = labelled.val.frame[dataset.TEXT].tolist()
    with clock.timed("save_nbsvm_again"), still_working(log, "saving NBSVM"):
        saved = {**saved, NBSVM: save_nbsvm(staging, nbsvm_run, val_texts, False, classes)}
    del nbsvm_run
    release_tensorflow()
    record = {"method": "self-training: NBSVM trained again", "file": {
                  "path": str(pool.path.resolve()), "sha256": sha256(pool.path)},
              "share": unlabelled.SHARE, "unlabelled_rows": pool.counts, "joined": len(rows),
              "joined_by_label": {c: int(n) for c, n in rows[dataset.LABEL].value_counts().items()},
              "nbsvm_rows": len(both),
              "before": {"validation": {k: first_scores.get(k) for k in ("accuracy", "macro_f1")},
                         "bert_weight": weight, "nbsvm_validation": evaluate(
                             y_val, probabilities[NBSVM], classes, False).get("accuracy")}}
    return saved, record


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


def audit_labels(labelled: Labelled, classes: list[str], markup: str, seed: int,
                 log: Callable[[str], None]) -> audit.Audit:
    """The label audit of the training file (predictor/audit.py), and what it found in one line."""
    rows = labelled.file_rows
    if rows.multilabel:
        return audit.skipped("multi-label models are not audited yet: that needs cleanlab's multi-label ranking and "
                             "a classifier per label")
    log(f"Auditing the labels: a word-count classifier fitted on {audit.FOLDS} parts of the {len(rows.frame):,} "
        "labelled rows in turn, each row scored by the fit that did not see it...")
    shown = rows.frame[dataset.TEXT].tolist()
    texts = cleaned(rows.frame, markup)[0][dataset.TEXT].tolist()
    result = audit.run(texts, shown, [labelled.positions.get(text) for text in shown],
                       rows.frame[dataset.LABEL].tolist(), classes, seed)
    found = result.record
    if not found["audited"]:
        log(f"Label audit skipped: {found['why']}.")
    elif found["issues"]:
        log(f"Label audit: {found['issues']:,} of {found['rows']:,} rows have a label the audit disputes; they are "
            f"in {audit.FILE}, the most doubtful first. Check them in the page (Labels to check).")
    else:
        log(f"Label audit: no label of the {found['rows']:,} rows is disputed.")
    return result


def reload_difference(saved: model_folder.ModelInfo, model: Model, texts: list[str]) -> float:
    """Largest difference between the trained model's probabilities and the saved folder's, loaded as the app loads
    it (models.load_model, what a Scorer holds)."""
    if not texts:
        return 0.0
    expected = model.score(texts).probabilities
    return float(np.abs(expected - load_model(saved).score(texts).probabilities).max())


def settings_record(settings: Settings) -> dict:
    return {key: (str(value) if isinstance(value, Path) else value) for key, value in asdict(settings).items()}


def library_versions() -> dict:
    names = ["tensorflow", "tf-keras", "ktrain", "keras-bert", "transformers", "numpy", "pandas", "scikit-learn"]
    return {"python": platform.python_version(), **{name: importlib.metadata.version(name) for name in names}}


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
