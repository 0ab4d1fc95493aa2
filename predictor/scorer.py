"""A saved model opened for scoring: what the page, score.py, the Ray workers and the benchmarks hold (train.py's
last check loads the Model a Scorer holds, models.load_model, before the record is on disk). It stands above
predictor/models.py, which builds the Model out of a folder, and below predictor/scoring.py and predictor/explain.py,
which score texts with a Scorer they are handed.
"""
import threading
from pathlib import Path

import numpy as np

from predictor import model_folder
from predictor.model_folder import ModelInfo
from predictor.models import SCORE_BATCH_SIZE, Scores, load_model


class Scorer:
    """A saved model loaded for scoring; safe to share between threads (Streamlit runs a thread per session)."""

    def __init__(self, model_dir: Path):
        self.info: ModelInfo = model_folder.read(model_dir)
        self.model = load_model(self.info)
        # Keras models are not safe to call from several threads at once: whatever calls the model holds this
        # (score_batch here, explain.explain_with_scorer).
        self.lock = threading.Lock()

    @property
    def classes(self) -> list[str]:
        return self.info.classes

    @property
    def multilabel(self) -> bool:
        return self.info.multilabel

    @property
    def members(self) -> list[str]:
        """Kinds of the members in use, e.g. ["bert", "nbsvm"]."""
        return [m.kind for m in (self.model.bert, self.model.nbsvm) if m is not None]

    def score_batch(self, texts: list[str], batch_size: int = SCORE_BATCH_SIZE) -> Scores:
        with self.lock:
            return self.model.score(texts, batch_size)

    def predict_proba(self, texts: list[str], batch_size: int = SCORE_BATCH_SIZE) -> np.ndarray:
        """Probabilities, shape (len(texts), len(classes))."""
        return self.score_batch(texts, batch_size).probabilities


def load_scorer(name_or_path: str | Path, models_dir: Path | None = None) -> Scorer:
    """Load a model from the models folder (never from anywhere else) for scoring."""
    return Scorer(model_folder.inside_models_dir(name_or_path, models_dir))
