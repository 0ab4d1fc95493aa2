"""The model folder, both directions: where model folders live, what files one holds, its record (training.json),
and how a new one is put in place without ever being half-written.

A folder (version 6):

    training.json        the TrainingRecord below; its `version` says which layout the folder follows
    metrics.json         validation metrics of the model as it scores (the hybrid's combination, if one is used)
    confusion_matrix.png validation confusion matrix (single-label) or per-label outcomes (multi-label)
    lr_find.png          ktrain's loss-vs-rate curve, when the rate was estimated
    tf_model.h5, tf_model.preproc     the BERT member: a ktrain predictor, so ktrain.load_predictor(folder) reads it
    bert.onnx            the same BERT member as an ONNX graph run by OpenVINO, what scoring runs (training.json
                         `runtime`: its check against the Keras model and the precision chosen on validation rows)
    vocab.txt            its word-piece vocabulary, so scoring needs neither ktrain's pickle nor TensorFlow
    nbsvm/               the NBSVM member: a ktrain predictor (multi-label: one binary predictor per label, nbsvm/0...),
                         each with nbsvm.npz, the same model as arrays, what scoring runs (predictor/nbsvm.py)

A folder whose record's `runtime` names all of its exports is scored without importing TensorFlow (a scoring process
then starts in about a second and stays far smaller); without them, the ktrain predictors are scored as before.

Folders written before versions existed (version 1: one BERT predictor that reads the start of each text) still
load; a folder from a newer version is refused with a message saying what to do.

The models folder also holds default-model.txt: the name of the model the page opens with and score.py uses, written
only when someone says so (train.py --make-default, the page's button). Without it, the first model trained is the
default, so a later experiment never silently becomes everyone's model.
"""
import contextlib
import datetime as dt
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

from predictor import atomic, markup
from predictor.bert import tokenizer
from predictor.errors import UserError
from predictor.bert.runtime import KERAS_RUNTIME
from predictor.bert.tokenizer import LEGACY_OVERLAP

# 7: the training texts' lengths in word pieces (`rows.lengths_in_pieces`, predictor/unlike.py) and the label audit
# (`label_audit`, label_issues.csv: predictor/audit.py); 6: multi-label
# thresholds chosen per label on the validation rows (`thresholds`); 5: probabilities calibrated on the validation
# rows (`calibration`); 4: BERT's graph written from its weights and run by OpenVINO at a checked precision,
# windows' `window_overlap`; 3: texts' markup handling (`markup`); 2: members, reading, weights; 1: one BERT reading
# the head
VERSION = 7
TRAINING_FILE = "training.json"
METRICS_FILE = "metrics.json"
DEFAULT_FILE = "default-model.txt"  # in the models folder, beside the model folders
CONFUSION_FILE = "confusion_matrix.png"
RELIABILITY_FILE = "reliability.png"  # the reliability diagram of the validation rows (predictor/calibration.py)
LR_PLOT_FILE = "lr_find.png"
PREDICTOR_FILES = ("tf_model.h5", "tf_model.preproc")  # what ktrain's predictor.save writes
PREPROC_FILE = "tf_model.preproc"  # the BERT predictor's preprocessor (its vocabulary), read without the Keras model
# bert.onnx, the BERT member as a graph, is predictor/bert/runtime.py's ONNX_FILE
VOCAB_FILE = "vocab.txt"  # beside it: the word pieces' ids, one token a line (predictor/bert/tokenizer.py)
BERT = "bert"
NBSVM = "nbsvm"
MEMBER_PATHS = {BERT: ".", NBSVM: "nbsvm"}
# Every model folder lives here (or in $PREDICTOR_MODELS_DIR); nothing is loaded from elsewhere: a predictor is a
# pickle.
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


@dataclass(frozen=True)
class Member:
    """One model inside the folder: a ktrain predictor (or, NBSVM multi-label, one per label)."""

    kind: str  # BERT or NBSVM
    path: str  # relative to the model folder
    validation: dict = field(default_factory=dict)  # its own validation metrics


@dataclass(frozen=True)
class TrainingRecord:
    """What training.json says: built once by training, written and read back only by this module."""

    classes: list[str]
    multilabel: bool
    classifier: str  # "bert", "nbsvm" or "hybrid": what the user asked for
    members: list[Member]
    # Probabilities = w * BERT + (1 - w) * NBSVM, one w per class column (single-label: one w for every column);
    # chosen on the validation rows only. [1.0] is BERT alone, [0.0] NBSVM alone.
    bert_weight: list[float]
    reading: str  # how much of a long text BERT reads: see predictor/bert/tokenizer.py
    markup: str  # what was done to HTML in texts before either member saw them: see predictor/markup.py
    maxlen: int | None  # word pieces per BERT row; None without a BERT member
    settings: dict  # the run's settings as given, with the automatic choices filled in
    data: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)
    lr: dict | None = None
    combination: dict = field(default_factory=dict)  # how bert_weight was chosen, and each candidate's score
    device: dict = field(default_factory=dict)
    bert: dict | None = None
    reload_check: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""
    durations_s: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # what the person who trained it should know (tiny validation)
    # How the members are run when scoring: BERT's graph, its precision, vocabulary, the check of the graph against
    # the Keras model and of the precision on the validation rows (predictor/bert/runtime.py), or {"file": "keras"} for
    # folders saved before exports existed; `nbsvm`: the NBSVM arrays and their check against ktrain
    # (predictor/nbsvm.py), absent in folders saved before them.
    runtime: dict = field(default_factory=lambda: {"file": KERAS_RUNTIME})
    # With reading "windows": the share of pieces consecutive windows have in common
    # (predictor/bert/tokenizer.py); folders saved before version 4 read with half overlap.
    window_overlap: float = LEGACY_OVERLAP
    # The temperature(s) fitted on the validation rows and the calibration error before and after
    # (predictor/calibration.py); empty in folders saved before version 5, whose probabilities stay as blended.
    calibration: dict = field(default_factory=dict)
    # Multi-label: the threshold each label's calibrated probability must reach, one per class, and how they were
    # chosen on the validation rows (predictor/thresholds.py); empty for single-label models and in folders saved
    # before version 6, which give every label thresholds.DEFAULT.
    thresholds: list[float] = field(default_factory=list)
    threshold_choice: dict = field(default_factory=dict)
    # The label audit of the training file (predictor/audit.py): whether it ran, on how many rows and folds, how many
    # rows it ranked in label_issues.csv, or why it did not run; empty in folders saved before version 7.
    label_audit: dict = field(default_factory=dict)
    # With --unlabelled (predictor/unlabelled.py): the unlabelled file's rows, how many reviews joined NBSVM's training
    # rows with the labels the model gave them, and the model's validation scores before; empty otherwise.
    self_training: dict = field(default_factory=dict)
    version: int = VERSION

    def member(self, kind: str) -> Member | None:
        return next((m for m in self.members if m.kind == kind), None)

    def reading_text(self) -> str:
        """How much of a text this model reads, in words for people (the page and score.py): NBSVM reads every
        word; BERT as tokenizer.reading_text says. A member that the blend gives no weight reads nothing that counts."""
        if self.maxlen is None or set(self.bert_weight) == {0.0}:
            return "every word (NBSVM)"
        bert = tokenizer.reading_text(self.reading, self.maxlen, self.window_overlap)
        return f"BERT: {bert}; NBSVM: every word" if self.member(NBSVM) and set(self.bert_weight) != {1.0} else bert

    def learnt_from_text(self) -> str:
        """What the model learnt from, in words for people: the labelled rows, and with self-training the unlabelled
        reviews that NBSVM learnt from too (predictor/unlabelled.py)."""
        labelled = self.rows.get("train")
        said = f"{labelled:,} labelled reviews" if labelled else "the labelled reviews"
        if not self.self_training:
            return said
        kept = self.self_training["unlabelled_rows"]["kept"]
        return (f"{said}; NBSVM also from {self.self_training['joined']:,} of {kept:,} unlabelled reviews, labelled by "
                "the model trained on those (self-training)")


@dataclass(frozen=True)
class ModelInfo:
    """A model folder found on disk: its path, record and validation metrics."""

    path: Path
    record: TrainingRecord = field(repr=False)
    metrics: dict = field(repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def classes(self) -> list[str]:
        return self.record.classes

    @property
    def multilabel(self) -> bool:
        return self.record.multilabel

    @property
    def maxlen(self) -> int | None:
        return self.record.maxlen

    @property
    def created(self) -> str:
        return self.record.finished_at


# ---------------------------------------------------------------------------------------------------------------------
# Reading and writing one folder


def write(folder: Path, record: TrainingRecord, metrics: dict) -> None:
    """Write the record and metrics into a (staging) folder."""
    (folder / METRICS_FILE).write_text(json.dumps(metrics, indent=2))
    (folder / TRAINING_FILE).write_text(record_json(record))


def record_json(record: TrainingRecord) -> str:
    """The record as training.json holds it."""
    return json.dumps(asdict(record), indent=2, default=str)


def read(folder: Path) -> ModelInfo:
    """A model folder's record and metrics, or a UserError saying why it is not a usable model."""
    folder = Path(folder)
    if not (folder / TRAINING_FILE).is_file():
        raise UserError(f"{folder} is not a model folder (no {TRAINING_FILE}). Train one with: python train.py")
    metrics_path = folder / METRICS_FILE
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return read_with(folder, (folder / TRAINING_FILE).read_text(), metrics)


def read_with(folder: Path, training_json: str, metrics: dict) -> ModelInfo:
    """The folder as `read` gives it, with `training_json` as its record: train.py checks the model it is about to
    save this way, the record it will write read back through the same parser, before a byte of it is on disk."""
    try:
        record = _record_from_json(json.loads(training_json))
    except (ValueError, KeyError, TypeError) as err:
        raise UserError(f"{folder / TRAINING_FILE} is damaged ({err}). Retrain the model: python train.py") from None
    missing = [str((directory / name).relative_to(folder)) for m in record.members
               for directory in member_dirs(folder, m, record) for name in PREDICTOR_FILES
               if not (directory / name).is_file()]
    if missing:
        raise UserError(f"{folder} is not a complete model folder (missing {', '.join(missing)}). "
                        "Train one with: python train.py")
    return ModelInfo(path=folder, record=record, metrics=metrics)


def member_dirs(folder: Path, member: Member, record: TrainingRecord) -> list[Path]:
    """The ktrain predictor folder(s) of a saved member (see predictor_dirs)."""
    return predictor_dirs(Path(folder) / member.path, member.kind, record.multilabel, len(record.classes))


def predictor_dirs(base: Path, kind: str, multilabel: bool, labels: int) -> list[Path]:
    """The ktrain predictor folder(s) of a member kept at `base` (MEMBER_PATHS[kind] in a new folder): one, or for a
    multi-label NBSVM one per label (nbsvm/0, ...).

    ktrain's NBSVM is single-label only (asked for multi-label it silently builds fastText instead), so a multi-label
    NBSVM member is one binary NBSVM per label.
    """
    if kind == NBSVM and multilabel:
        return [Path(base) / str(i) for i in range(labels)]
    return [Path(base)]


def _record_from_json(raw: dict) -> TrainingRecord:
    version = raw.get("version", 1)
    if version > VERSION:
        raise UserError(f"This model was saved by a newer version of this tool (folder version {version}; this code "
                        f"reads up to {VERSION}). Update the code (git pull, then pip install -r requirements.txt), "
                        "or retrain the model with this version: python train.py ...")
    if version == 1:
        return _record_from_version_1(raw)
    members = [Member(**m) for m in raw.pop("members")]
    if version == 2:  # before markup handling existed: texts were read as written
        raw["markup"] = markup.KEEP
    return TrainingRecord(members=members, **{k: v for k, v in raw.items() if k in _FIELDS})


def _record_from_version_1(raw: dict) -> TrainingRecord:
    """Folders saved before the record had a version: one BERT predictor reading the start of each text."""
    settings = raw["settings"]
    return TrainingRecord(
        classes=list(raw["classes"]), multilabel=bool(raw["multilabel"]), classifier=BERT,
        members=[Member(BERT, MEMBER_PATHS[BERT])], bert_weight=[1.0], reading="head", markup=markup.KEEP,
        maxlen=int(settings["maxlen"]), settings=settings, version=1,
        **{k: raw[k] for k in ("data", "rows", "lr", "device", "bert", "reload_check", "versions", "started_at",
                               "finished_at", "durations_s") if k in raw})


_FIELDS = set(TrainingRecord.__dataclass_fields__) - {"members"}


# ---------------------------------------------------------------------------------------------------------------------
# The models folder: where folders live, which exist, and putting a new one in place


def models_dir() -> Path:
    """The models folder: $PREDICTOR_MODELS_DIR if set (read on every call), else models/ beside the code."""
    return Path(os.environ.get("PREDICTOR_MODELS_DIR", DEFAULT_MODELS_DIR))


def list_models(root: Path | None = None) -> list[ModelInfo]:
    """Usable models under the models folder, the default first, then newest first; half-written or foreign folders
    are skipped."""
    root = Path(root or models_dir())
    infos = []
    for child in sorted(root.iterdir()) if root.is_dir() else []:
        if child.is_dir() and not child.name.startswith("."):
            try:
                infos.append(read(child))
            except (UserError, ValueError, KeyError):
                continue
    default = default_name(infos, root)
    return sorted(infos, key=lambda info: (info.name == default, info.created), reverse=True)


def default_name(infos: list[ModelInfo], root: Path | None = None) -> str | None:
    """Which of `infos` is the default: the one named in DEFAULT_FILE if it is among them, else the first trained."""
    try:
        chosen = (Path(root or models_dir()) / DEFAULT_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        chosen = None
    if any(info.name == chosen for info in infos):
        return chosen
    return min(infos, key=lambda info: info.created).name if infos else None


def make_default(name_or_path: str | Path, root: Path | None = None) -> str:
    """Make a model in the models folder the default for the page and score.py; returns its name."""
    folder = inside_models_dir(name_or_path, root)
    read(folder)  # a UserError if it is not a usable model
    atomic.write_bytes(Path(root or models_dir()) / DEFAULT_FILE, f"{folder.name}\n".encode())
    return folder.name


def inside_models_dir(name_or_path: str | Path, root: Path | None = None) -> Path:
    """Resolve a model name or path, refusing anything outside the models folder."""
    root = Path(root or models_dir()).resolve()
    candidate = Path(name_or_path)
    candidate = (candidate if candidate.is_absolute() or candidate.exists() else root / candidate).resolve()
    if candidate.parent != root:
        raise UserError(f"Models are only loaded from {root}; {name_or_path} is not a folder directly inside it. "
                        "Copy or train the model there (python train.py --out models/NAME).")
    return candidate


def new_folder_path(out: Path | None, data: Path, force: bool) -> Path:
    """Where a new model goes; refuse to replace anything but a model folder, and that only with --force."""
    if out is None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        return models_dir() / f"{re.sub(r'[^A-Za-z0-9_-]+', '-', Path(data).stem).strip('-')}-{stamp}"
    out = Path(out).resolve()
    if out.exists():
        if not force:
            raise UserError(f"--out {out} already exists. Pass --force to replace it (it is only replaced once the new "
                            "model has trained and checked out), or choose another --out.")
        if not out.is_dir() or (any(out.iterdir()) and not (out / TRAINING_FILE).is_file()):
            raise UserError(f"--out {out} exists and is not a model folder, so it will not be replaced even with "
                            "--force. Choose a new folder for --out.")
    return out


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A hidden sibling folder of `out` to write the model into; moved into place only if the block succeeds.

    Same filesystem, so the final move is a rename; list_models skips hidden folders; on any failure (or Ctrl-C)
    the staging folder is removed and an existing `out` is left as it was.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = atomic.staging_dir(out, "saving")
    try:
        yield staging
        atomic.replace_dir(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already if it moved into place
