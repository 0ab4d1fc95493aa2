"""Saved models: where they live, what they are, and loading one to score texts."""
import json
import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from predictor.errors import UserError

# Every model folder lives here (or in $PREDICTOR_MODELS_DIR); nothing is loaded from elsewhere: a predictor is a pickle.
DEFAULT_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
PREDICTOR_FILES = ("tf_model.h5", "tf_model.preproc")  # what ktrain's predictor.save writes
TRAINING_FILE = "training.json"
METRICS_FILE = "metrics.json"
# Rows per forward pass: big enough to keep both cores busy, small enough for steady progress reports.
SCORE_BATCH_SIZE = 32


@dataclass(frozen=True)
class ModelInfo:
    """What a saved model folder says about itself."""

    path: Path
    classes: list
    multilabel: bool
    maxlen: int
    created: str
    training: dict = field(repr=False)
    metrics: dict = field(repr=False)

    @property
    def name(self):
        return self.path.name


def default_models_dir():
    """The models folder: $PREDICTOR_MODELS_DIR if set (read on every call), else models/ beside the code."""
    return Path(os.environ.get("PREDICTOR_MODELS_DIR", DEFAULT_MODELS_DIR))


def read_model_info(model_dir):
    """Read a model folder's training.json and metrics.json, or say why it is not a usable model."""
    model_dir = Path(model_dir)
    missing = [name for name in (*PREDICTOR_FILES, TRAINING_FILE) if not (model_dir / name).is_file()]
    if missing:
        raise UserError(f"{model_dir} is not a complete model folder (missing {', '.join(missing)}). "
                        "Train one with: python train.py")
    training = json.loads((model_dir / TRAINING_FILE).read_text())
    metrics_path = model_dir / METRICS_FILE
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return ModelInfo(path=model_dir, classes=list(training["classes"]), multilabel=bool(training["multilabel"]),
                     maxlen=int(training["settings"]["maxlen"]), created=training.get("finished_at", ""),
                     training=training, metrics=metrics)


def list_models(models_dir=None):
    """Usable models under the models folder, newest first; half-written or foreign folders are skipped."""
    root = Path(models_dir or default_models_dir())
    infos = []
    for child in sorted(root.iterdir()) if root.is_dir() else []:
        if child.is_dir() and not child.name.startswith("."):
            try:
                infos.append(read_model_info(child))
            except (UserError, ValueError, KeyError):
                continue
    return sorted(infos, key=lambda info: info.created, reverse=True)


def model_dir_inside(name_or_path, models_dir=None):
    """Resolve a model name or path, refusing anything outside the models folder."""
    root = Path(models_dir or default_models_dir()).resolve()
    candidate = Path(name_or_path)
    candidate = (candidate if candidate.is_absolute() or candidate.exists() else root / candidate).resolve()
    if candidate.parent != root:
        raise UserError(f"Models are only loaded from {root}; {name_or_path} is not a folder directly inside it. "
                        "Copy or train the model there (python train.py --out models/NAME).")
    return candidate


class Scorer:
    """A loaded model that turns texts into class probabilities; safe to share between threads."""

    def __init__(self, model_dir):
        import ktrain

        self.info = read_model_info(model_dir)
        with warnings.catch_warnings():  # tf_keras warns about ktrain's head initializer on every load: noise here
            warnings.filterwarnings("ignore", message="The initializer GlorotNormal is unseeded")
            self._predictor = ktrain.load_predictor(str(self.info.path))
        self._tokenizer = self._predictor.preproc.get_tokenizer()
        self._forward = compiled_forward(self._predictor.model, self.info.maxlen)
        # Keras models are not safe to call from several threads at once (Streamlit runs a thread per session).
        self._lock = threading.Lock()

    @property
    def classes(self):
        return self.info.classes

    @property
    def multilabel(self):
        return self.info.multilabel

    def token_count(self, text):
        """Word pieces in `text` plus BERT's two markers; more than maxlen means only the start is read."""
        return len(self._tokenizer.tokenize(text))

    def predict_proba(self, texts, batch_size=SCORE_BATCH_SIZE):
        """Probabilities, shape (len(texts), len(classes)): softmax rows, or one sigmoid per label if multi-label."""
        return self.score_batch(texts, batch_size)[0]

    def score_batch(self, texts, batch_size=SCORE_BATCH_SIZE):
        """(probabilities, token counts): each text is tokenized once for both."""
        encoded = [self.encode(str(text)) for text in texts]
        if not encoded:
            return np.zeros((0, len(self.classes)), np.float32), np.zeros(0, int)
        ids = np.array([e[0] for e in encoded], np.float32)
        segments = np.zeros_like(ids)  # one text per row: every token is in segment 0
        with self._lock:
            batches = [self._forward(ids[i:i + batch_size], segments[i:i + batch_size]).numpy()
                       for i in range(0, len(ids), batch_size)]
        return np.concatenate(batches).astype(np.float32), np.array([e[1] for e in encoded])

    def encode(self, text):
        """(token ids padded to maxlen, untruncated token count), the ids exactly as ktrain's 'bert' mode makes them.

        keras_bert's encode() hides how long the text was before truncating; its own steps (keras-bert 0.89, pinned)
        give both from one tokenization.
        """
        tokenizer, maxlen = self._tokenizer, self.info.maxlen
        pieces = tokenizer._tokenize(text)
        count = len(pieces) + 2  # [CLS] and [SEP]
        tokens, _, _ = tokenizer._pack(pieces[:maxlen - 2])
        return tokenizer._convert_tokens_to_ids(tokens) + [tokenizer._pad_index] * (maxlen - len(tokens)), count


def compiled_forward(model, maxlen):
    """The model's inference pass as one traced graph: skips Keras' per-call setup, which dominates short batches."""
    import tensorflow as tf

    token_ids = tf.TensorSpec([None, maxlen], tf.float32)  # keras_bert's inputs are float-typed
    return tf.function(lambda ids, segments: model([ids, segments], training=False),
                       input_signature=[token_ids, token_ids])


def load_scorer(name_or_path, models_dir=None):
    """Load a model from the models folder (never from anywhere else) for scoring."""
    return Scorer(model_dir_inside(name_or_path, models_dir))
