"""Turning texts into class probabilities with a model: the one path of train.py's evaluation, the app, the CLI and
the benchmarks, so that a model is scored exactly the way it was validated.

A model is one or two members (see predictor/model_folder.py): BERT, read the way the model was trained
(predictor/bert/tokenizer.py), and NBSVM, combined with the weight chosen on validation rows (predictor/hybrid.py), then
calibrated with the temperature fitted on the same rows (predictor/calibration.py).
"""
import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path
import numpy as np

from predictor import calibration, hybrid, markup, model_folder, nbsvm
from predictor.bert import runtime
from predictor.model_folder import BERT, NBSVM, ModelInfo
from predictor.bert.tokenizer import LEGACY_OVERLAP, Encoded, WordPieces

# Rows per forward pass: big enough to keep both cores busy, small enough for steady progress reports.
SCORE_BATCH_SIZE = 32


@dataclass(frozen=True)
class Scores:
    """What a model says of a batch of texts."""

    probabilities: np.ndarray  # (texts, classes): softmax rows, or one sigmoid per label if multi-label
    members: dict[str, np.ndarray]  # each member's own probabilities, by kind ("bert", "nbsvm")
    piece_counts: np.ndarray  # BERT word pieces in each whole text (0 when the model has no BERT member)
    read: np.ndarray  # how many of them BERT read: fewer than `piece_counts` means part of the text was not read

    @property
    def truncated(self) -> np.ndarray:
        return self.read < self.piece_counts


class BertMember:
    """A fine-tuned BERT classifier that reads each text as its model was trained to (head, head+tail, windows).

    It runs its folder's graph in OpenVINO when the folder holds a checked one (predictor/bert/runtime.py), else in
    TensorFlow (the Keras model as one traced graph: folders saved before graphs existed, and the model while it
    trains).
    """

    kind = BERT

    def __init__(self, model: object, tokenizer: WordPieces, maxlen: int, reading: str,
                 forward: runtime.Forward | None = None, overlap: float = LEGACY_OVERLAP):
        self.tokenizer, self.maxlen, self.reading, self.overlap = tokenizer, maxlen, reading, overlap
        self.runtime = runtime.ENGINE if forward is not None else runtime.KERAS_RUNTIME
        self.precision = getattr(forward, "precision", runtime.FP32)
        self._forward = forward if forward is not None else compiled_forward(model, maxlen)

    @classmethod
    def load(cls, folder: Path, maxlen: int, reading: str, runtime_record: dict | None = None,
             overlap: float = LEGACY_OVERLAP) -> "BertMember":
        """The member saved in `folder`, run as its record says (`runtime`; None: the Keras model)."""
        if runtime_record and runtime.uses_graph(runtime_record):
            path = Path(folder) / runtime_record["file"]
            if path.is_file():  # the Keras model is not loaded at all: ~90 MB and seconds saved
                vocab = Path(folder) / runtime_record.get("vocab", "")  # older exports have none: ktrain's pickle
                tokenizer = (WordPieces.from_vocab_file(vocab) if vocab.is_file()
                             else WordPieces.of_preprocessor(load_preprocessor(folder)))
                return cls(None, tokenizer, maxlen, reading, runtime.graph_forward(folder, runtime_record), overlap)
            warnings.warn(f"{path} is missing: scoring with the Keras model instead (same probabilities within "
                          f"{runtime.CHECK_TOLERANCE:.0e}, slower). Retrain the model to restore it.", stacklevel=2)
        predictor = load_ktrain_predictor(folder)
        return cls(predictor.model, WordPieces.of_preprocessor(predictor.preproc), maxlen, reading, overlap=overlap)

    def encode(self, text: str) -> Encoded:
        """`text` as this member reads it: rows of maxlen ids."""
        return self.tokenizer.encode(text, self.maxlen, self.reading, self.overlap)

    def forward(self, ids: np.ndarray, batch_size: int = SCORE_BATCH_SIZE) -> np.ndarray:
        """Probabilities of rows of maxlen ids (one text or window per row), in batches of similar lengths.

        Rows are scored longest first and put back in their order, so that the graph pads each batch only to its
        longest row (the Keras graph always reads maxlen, where the order changes nothing).
        """
        ids = np.asarray(ids, np.int64)
        order = np.argsort(-(ids != 0).sum(axis=1), kind="stable")
        ordered = ids[order]
        rows = [np.asarray(self._forward(ordered[i:i + batch_size])) for i in range(0, len(ids), batch_size)]
        if not rows:
            return np.zeros((0, 0), np.float32)
        probabilities = np.empty((len(ids), rows[0].shape[1]), np.float32)
        probabilities[order] = np.concatenate(rows)
        return probabilities

    def predict(self, texts: list[str], batch_size: int = SCORE_BATCH_SIZE) -> np.ndarray:
        """Each text's probabilities, as every member gives them (texts read over several windows get their mean)."""
        return self.read(texts, batch_size)[0]

    def read(self, texts: list[str], batch_size: int = SCORE_BATCH_SIZE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(probabilities, piece_counts, read) for each text: predict's probabilities, each text's word pieces and
        how many of them were read (fewer when the reading leaves part of a long text out)."""
        encoded = [self.encode(text) for text in texts]
        ids = np.array([row for e in encoded for row in e.ids], np.int64).reshape(-1, self.maxlen)
        window_probabilities = self.forward(ids, batch_size)
        owners = np.repeat(np.arange(len(encoded)), [len(e.ids) for e in encoded])
        sums = np.zeros((len(encoded), window_probabilities.shape[1]), np.float32)
        np.add.at(sums, owners, window_probabilities)
        probabilities = sums / np.bincount(owners, minlength=len(encoded))[:, None]
        return probabilities, np.array([e.piece_count for e in encoded]), np.array([e.read for e in encoded])

    def predict_without(self, text: str, spans: list[tuple[int, int]]) -> np.ndarray:
        """predict([text] + each text without one span (see `without`)), without tokenizing every variant.

        When the spans are runs of whole words covering every word of `text` in order (as predictor/explain.py cuts
        a text into phrases), a variant's pieces are the text's pieces with the span's pieces removed. The variants'
        windows are read as this member reads any text (its reading and overlap), but each distinct window is scored
        once: the windows before a span are the same in its variant as in the whole text, so only the windows from
        the span on are read again.
        """
        whole = self.tokenizer.tokenize(text)
        each = [self.tokenizer.tokenize(text[start:end]) for start, end in spans]
        if not covers(text, spans) or [piece for pieces in each for piece in pieces] != whole:
            # Other spans, or the tokenizer joined words across a span's edge (a character white space to Python
            # that BERT drops: the pieces may differ even where their count does not): tokenize each variant.
            return self.predict([text] + [without(text, span) for span in spans])
        inside = [len(pieces) for pieces in each]
        before = np.cumsum([0] + inside[:-1])
        sequences = [whole] + [whole[:b] + whole[b + n:] for b, n in zip(before, inside)]
        encoded = [self.tokenizer.encode_pieces(sequence, self.maxlen, self.reading, self.overlap)
                   for sequence in sequences]
        unique: dict[tuple, int] = {}
        for e in encoded:
            for row in e.ids:
                unique.setdefault(tuple(row), len(unique))
        window_probabilities = self.forward(np.array(list(unique), np.int64))
        return np.stack([window_probabilities[[unique[tuple(row)] for row in e.ids]].mean(axis=0) for e in encoded])


class NbsvmMember:
    """ktrain's NBSVM (word 1-3 grams): one predictor, or one binary predictor per label for multi-label."""

    kind = NBSVM

    def __init__(self, predictors: list, multilabel: bool):
        self._predictors, self._multilabel = predictors, multilabel

    @classmethod
    def load(cls, folders: list[Path], multilabel: bool, runtime_record: dict | None = None) -> "NbsvmMember":
        """The member's predictors: its arrays where the record says they were exported and checked (no
        TensorFlow), else ktrain's predictors (folders saved before exports, or with files missing)."""
        if runtime_record and "nbsvm" in runtime_record:
            paths = [Path(folder) / runtime_record["nbsvm"]["file"] for folder in folders]
            if all(path.is_file() for path in paths):
                return cls([nbsvm.NbsvmArrays(path) for path in paths], multilabel)
            warnings.warn(f"{model_folder.NBSVM} exports are missing in {Path(folders[0]).parent}: scoring NBSVM "
                          "with ktrain instead (same probabilities, slower to start). Retrain the model to restore "
                          "them.", stacklevel=2)
        return cls([load_ktrain_predictor(folder) for folder in folders], multilabel)

    def predict(self, texts: list[str]) -> np.ndarray:
        if not self._multilabel:
            return np.asarray(self._predictors[0].predict(texts, return_proba=True), np.float32)
        # Each label's predictor has classes ["0", "1"]: its second column is the label's probability.
        return np.stack([np.asarray(p.predict(texts, return_proba=True))[:, 1] for p in self._predictors],
                        axis=1).astype(np.float32)

    def predict_without(self, text: str, spans: list[tuple[int, int]]) -> np.ndarray:
        """predict([text] + each text without one span (see `without`))."""
        return self.predict([text] + [without(text, span) for span in spans])


class Model:
    """Members and their combination; scores texts. Used as trained (in memory) and as loaded (predictor/scorer.py)."""

    def __init__(self, classes: list[str], multilabel: bool, bert: BertMember | None, nbsvm: NbsvmMember | None,
                 bert_weight: list[float], markup: str, temperatures: list[float] = calibration.NONE):
        self.classes, self.multilabel = list(classes), multilabel
        self.bert, self.nbsvm, self.bert_weight = bert, nbsvm, list(bert_weight)
        self.markup = markup  # how texts were cleaned for training: applied the same way here (predictor/markup.py)
        self.temperatures = list(temperatures)  # fitted on the validation rows (predictor/calibration.py)

    def blend(self, bert: np.ndarray | None, nbsvm: np.ndarray | None) -> np.ndarray:
        """The model's probabilities from its members' (either may be None): their blend, then calibrated."""
        return calibration.apply(hybrid.combine(bert, nbsvm, self.bert_weight), self.temperatures, self.multilabel)

    def score(self, texts: list[str], batch_size: int = SCORE_BATCH_SIZE) -> Scores:
        """Every text's probabilities, in order. A text that appears more than once (after markup cleaning) is scored
        once: spreadsheets of reviews repeat texts ("Great", "Good product"), and each copy would cost BERT a pass."""
        texts = [markup.to_text(str(text), self.markup) for text in texts]
        if not texts:
            empty = np.zeros((0, len(self.classes)), np.float32)
            return Scores(empty, {}, np.zeros(0, int), np.zeros(0, int))
        first: dict[str, int] = {}
        where = np.array([first.setdefault(text, len(first)) for text in texts])
        distinct = list(first)
        members = {}
        piece_counts = read = np.zeros(len(distinct), int)
        if self.bert is not None:
            members[BERT], piece_counts, read = self.bert.read(distinct, batch_size)
        if self.nbsvm is not None:
            members[NBSVM] = self.nbsvm.predict(distinct)
        probabilities = self.blend(members.get(BERT), members.get(NBSVM))
        return Scores(probabilities[where], {kind: p[where] for kind, p in members.items()}, piece_counts[where],
                      read[where])

    def score_without(self, text: str, spans: list[tuple[int, int]]) -> np.ndarray:
        """The probabilities of `text`, then of each text without one span (see `without`), blended as score blends
        them; each member scores the variants its own cheapest way (predictor/explain.py asks for one per phrase).

        `text` is as the model reads it, its markup already turned into text (markup.to_text with self.markup), and
        no markup is handled here: the spans are character offsets in that text."""
        members = {member.kind: member.predict_without(text, spans)
                   for member in (self.bert, self.nbsvm) if member is not None}
        return self.blend(members.get(BERT), members.get(NBSVM))


def without(text: str, span: tuple[int, int]) -> str:
    """`text` with the characters of `span` (start, end) left out, the text either side joined by one space."""
    start, end = span
    return text[:start].rstrip() + " " + text[end:].lstrip()


def covers(text: str, spans: list[tuple[int, int]]) -> bool:
    """Whether `spans` follow one another in order and only white space lies outside them."""
    edges = [0] + [edge for span in spans for edge in span] + [len(text)]
    return (all(a <= b for a, b in zip(edges, edges[1:]))
            and all(not text[a:b].strip() for a, b in zip(edges[::2], edges[1::2])))


def load_model(info: ModelInfo, every_member: bool = False) -> Model:
    """The saved model. A member the validation rows gave no weight is not loaded unless `every_member` (a benchmark
    re-blending the members): it would cost time and memory for nothing."""
    record = info.record
    weights = np.asarray(record.bert_weight)
    bert = nbsvm = None
    if record.member(BERT) and (every_member or weights.any()):
        bert = BertMember.load(info.path / record.member(BERT).path, record.maxlen, record.reading, record.runtime,
                               record.window_overlap)
    if record.member(NBSVM) and (every_member or not (weights == 1).all()):
        nbsvm = NbsvmMember.load(model_folder.member_dirs(info.path, record.member(NBSVM), record), record.multilabel,
                                 record.runtime)
    return Model(record.classes, record.multilabel, bert, nbsvm, record.bert_weight, record.markup,
                 record.calibration.get("temperatures", calibration.NONE))


def compiled_forward(model: object, maxlen: int) -> runtime.Forward:
    """The model's inference pass as one traced graph: skips Keras' per-call setup, which dominates short batches."""
    import tensorflow as tf

    token_ids = tf.TensorSpec([None, maxlen], tf.float32)  # keras_bert's inputs are float-typed
    traced = tf.function(lambda ids, segments: model([ids, segments], training=False),
                         input_signature=[token_ids, token_ids])

    def forward(ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, np.float32)  # every row is one text: all of it in segment 0
        return traced(ids, np.zeros_like(ids)).numpy()

    return forward


def load_ktrain_predictor(folder: Path) -> object:
    import ktrain

    return ktrain.load_predictor(str(folder))


def load_preprocessor(folder: Path) -> object:
    """The ktrain preprocessor a BERT predictor saved (its vocabulary), as ktrain.load_predictor reads it."""
    import ktrain  # noqa: F401  (the pickle names ktrain's classes)

    with open(Path(folder) / model_folder.PREPROC_FILE, "rb") as handle:
        return pickle.load(handle)
