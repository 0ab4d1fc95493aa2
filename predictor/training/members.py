"""Training the members and saving them as the page will run them: BERT fine-tuned with ktrain, exported to an
OpenVINO graph and checked against Keras (and its precision chosen); ktrain's NBSVM saved as checked arrays.
"""
import contextlib
import ctypes
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from predictor import dataset, ktrain_nbsvm, model_folder, nbsvm
from predictor.bert import graph, runtime
from predictor.model_folder import BERT, MEMBER_PATHS, NBSVM
from predictor.models import BertMember, NbsvmMember
from predictor.bert.tokenizer import DEFAULT_OVERLAP, WordPieces
from predictor.bert.pretrained import use_bert
from predictor.training.evaluation import evaluate, label_matrix, predicted_labels
from predictor.training.learning_rate import find_learning_rate, lr_find_batches
from predictor.training.plan import Plan
from predictor.training.progress import Stopwatch, fit_progress, quiet, still_working
from predictor.training.rows import Labelled
from predictor.training.settings import HYBRID


PRECISION_WORDS = {runtime.FP32: "32-bit numbers (fp32)", runtime.BF16: "16-bit numbers (bf16)"}
# ktrain's IMDb NBSVM recipe (tutorials/tutorial-04-text-classification.ipynb): word ids with up to 80,000 words,
# sequences of 2,000 ids, 1-3 grams, 'standard' preprocessing; autofit(0.001, 3) trains it with the triangular
# policy. 92.0% on IMDB 25k here (bench/README), within 0.3 points of the tutorial's 92.27%.
NBSVM_RECIPE = {"max_features": 80000, "maxlen": 2000, "ngram_range": 3, "lr": 0.001, "epochs": 3, "batch_size": 32}


@dataclass(frozen=True)
class BertRun:
    """A fine-tuned BERT in memory: the ktrain predictor to save (its Keras model scores while it is checked), how to
    read texts, and how its rate was chosen."""

    predictor: object
    tokenizer: WordPieces
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


def fit_members(labelled: Labelled, plan: Plan, classifier: str, reading: str, lr: float | None, seed: int,
                folder: Path, clock: Stopwatch, log: Callable[[str], None]) -> tuple[dict, dict | None]:
    """Train the members `classifier` names (train.py's --classifier) on the training rows, BERT reading texts as
    `reading` says at the rate `lr` (None: lr_find's), save each into `folder` and score the validation rows with the
    saved copy, as the page will score it. Returns the Saved members by kind, and how BERT's learning rate was chosen
    (None without BERT)."""
    classes = dataset.classes_of(labelled.train)
    multilabel = labelled.train.multilabel
    val_texts = labelled.val.frame[dataset.TEXT].tolist()
    y_val = label_matrix(labelled.val, classes)
    saved, chosen_lr = {}, None
    if classifier in (HYBRID, BERT):
        bert_run = fit_bert(labelled, plan, reading, lr, seed, folder, clock, log)
        chosen_lr, tokenizer, check_texts = bert_run.lr, bert_run.tokenizer, val_texts[:runtime.CHECK_ROWS]
        log("Saving BERT:")
        with clock.timed("save_bert"), still_working(log, "saving BERT"):
            log("  writing the trained model and its vocabulary...")
            weights, expected = save_bert(folder, bert_run, plan, reading, check_texts)
            del bert_run  # the Keras model: scoring from the saved graph no longer needs it
            release_tensorflow()
            log("  converting it into the faster form the page and score.py run (an OpenVINO graph)...")
            runtime.save_graph(weights, folder)
            del weights  # each step holds as little as it can: the training's peak is the run's peak
            log(f"  checking that the converted copy gives the trained model's answers, and scoring the "
                f"{len(val_texts)} validation rows with it...")
            saved[BERT] = checked_bert(folder, expected, tokenizer, plan, reading, check_texts, val_texts, y_val,
                                       classes, multilabel)
        log(describe_precision(saved[BERT].runtime["precision_check"]))
    if classifier in (HYBRID, NBSVM):
        log("Training NBSVM (word 1-3 grams)...")
        with clock.timed("fit_nbsvm"), still_working(log, "training NBSVM"):
            nbsvm_run = fit_nbsvm(labelled, classes, seed, log)
        if nbsvm_run is not None:
            log(f"Saving NBSVM, checking the saved copy gives its answers, and scoring the {len(val_texts)} "
                "validation rows with it...")
            with clock.timed("save_nbsvm"), still_working(log, "saving NBSVM"):
                saved[NBSVM] = save_nbsvm(folder, nbsvm_run, val_texts, multilabel, classes)
            del nbsvm_run  # ktrain's NBSVM in Keras: its arrays score it from now on
            release_tensorflow()
    return saved, chosen_lr


def fit_bert(labelled: Labelled, plan: Plan, reading: str, lr: float | None, seed: int, staging: Path,
             clock: Stopwatch, log: Callable[[str], None]) -> BertRun:
    """Fine-tune BERT with ktrain (texts_from_df, text_classifier('bert'), lr_find unless `lr` is given,
    fit_onecycle) on the part of each training text that `reading` keeps."""
    import ktrain

    log("Preparing BERT: reading the texts into word pieces and building the classifier on the pretrained weights...")
    with clock.timed("prepare_bert"), still_working(log, "preparing BERT"):
        trn, preproc, model = build_classifier(labelled.train, labelled.val, plan, seed)
    tokenizer = WordPieces.of_preprocessor(preproc)
    # ktrain keeps the start of each text; the model trains on the part the chosen reading keeps (same ids for head).
    (_, segments), y = trn
    trn = ([tokenizer.training_ids(labelled.train.frame[dataset.TEXT], plan.maxlen, reading), segments], y)
    if lr is None:
        batches = lr_find_batches(len(trn[1]), plan.batch_size, plan.epochs)
        log(f"Finding how fast BERT should learn: a trial run on {batches} batches of training rows at rising "
            "learning rates (ktrain's lr_find)...")
        with clock.timed("lr_find"), still_working(log, "trying learning rates"):
            rate = find_learning_rate(model, trn, plan.batch_size, batches, seed, staging)
    else:
        rate = {"chosen": lr, "source": "--lr"}
    log(f"Training BERT with learning rate {rate['chosen']:.2e} ({rate['source']}"
        + (f": {rate['why']}" if rate.get("why") else "") + ").")
    # No validation data for Keras: its per-epoch figure read the rows as training does (never over windows), so it
    # differed from the validation reported at the end, and cost a pass over them each epoch (about a minute on IMDB).
    learner = ktrain.get_learner(model, train_data=trn, batch_size=plan.batch_size)
    with clock.timed("fit"):  # verbose=0: no "begin training using onecycle policy..." and no bar redrawn per batch
        learner.fit_onecycle(rate["chosen"], plan.epochs, verbose=0, callbacks=[fit_progress(plan.epochs, log)])
    model = with_fresh_optimizer(learner.model, labelled.train.multilabel)  # drops Adam's state: 272 -> 90 MB saved
    return BertRun(ktrain.get_predictor(model, preproc, batch_size=plan.batch_size), tokenizer, rate)


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


def with_fresh_optimizer(model: object, multilabel: bool) -> object:
    """The model recompiled with a new Adam that has no state yet."""
    import tensorflow as tf

    model.compile(loss=model.loss, optimizer=tf.keras.optimizers.legacy.Adam(),
                  metrics=["binary_accuracy" if multilabel else "accuracy"])
    return model


def label_columns_of(rows: dataset.LabelledRows) -> list[str]:
    return rows.label_columns if rows.multilabel else [dataset.LABEL]


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


def save_bert(folder: Path, run: BertRun, plan: Plan, reading: str,
              check_texts: list[str]) -> tuple[graph.ClassifierWeights, np.ndarray]:
    """Save ktrain's predictor of the fine-tuned BERT into the staging folder (so ktrain.load_predictor reads it) and
    its vocabulary. Returns what the rest needs of the Keras model: its weights, and its probabilities of the rows of
    ids the graph is checked on (every window of `check_texts`, as the model reads them)."""
    run.predictor.save(str(folder / MEMBER_PATHS[BERT]))
    run.tokenizer.write_vocab_file(folder / model_folder.VOCAB_FILE)  # the tokenizer without unpickling ktrain
    keras = BertMember(run.predictor.model, run.tokenizer, plan.maxlen, reading, overlap=DEFAULT_OVERLAP)
    return graph.weights_of(run.predictor.model), keras.forward(check_ids(keras, check_texts))


def check_ids(member: BertMember, texts: list[str]) -> np.ndarray:
    """Every row of ids `member` reads for `texts`."""
    return np.array([row for text in texts for row in member.encode(text).ids], np.int64).reshape(-1, member.maxlen)


def checked_bert(folder: Path, expected: np.ndarray, tokenizer: WordPieces, plan: Plan, reading: str,
                 check_texts: list[str], val_texts: list[str], y_val: np.ndarray, classes: list[str],
                 multilabel: bool) -> Saved:
    """BERT's graph in the staging folder checked against the Keras model's probabilities `expected` on the rows of
    `check_texts` (runtime.ExportMismatch stops the run), then its precision: it scores every validation row in fp32
    and, where the CPU has it natively, in bfloat16, and the faster one is kept if it loses at most
    runtime.ALLOWED_LOSS of the member's validation metric. Works from the folder alone: the Keras model is gone by
    now, so that its memory and the graph's are not held at once; so is each compiled precision once scored."""
    path = folder / runtime.ONNX_FILE

    def member(precision: str) -> BertMember:
        return BertMember(None, tokenizer, plan.maxlen, reading, runtime.GraphForward.shared(path, precision),
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
        arrays.append(nbsvm.NbsvmArrays(nbsvm.save_arrays(predictor, directory)))
    entry = nbsvm.checked_record(nbsvm.check(run.predictors, arrays, val_texts[:runtime.CHECK_ROWS]))
    member = NbsvmMember(arrays, multilabel)
    return Saved(member, member.predict(val_texts), {"nbsvm": entry})


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


def describe_precision(check: dict) -> str:
    """One line: the precision BERT scores with, and why."""
    return f"BERT will score with {PRECISION_WORDS.get(check['chosen'], check['chosen'])}: {check['why']}."
