"""The BERT member as an ONNX graph run by onnxruntime: exported when a model is saved, checked against the Keras
model it came from, and what every entry point scores with when the folder has it.

Why: TensorFlow runs keras_bert's graph with per-call overhead and always at the shape it was traced for; onnxruntime
runs the same arithmetic leaner (stack-facts: ~10x faster one text at a time, ~1.2x for batches, outputs equal to
2.5e-7). ktrain's own `export_model_to_onnx` refuses 'bert'-mode models, so the Keras model is exported with tf2onnx.

- The graph takes any sequence length ([None, None] inputs: keras_bert's position embeddings slice the table to the
  input's length), so a batch is padded only to its longest row; padding is masked, so trimming it changes
  probabilities only by float rounding (measured 4e-7 on IMDB rows).
- fp32 only. Dynamic int8 quantization (`onnxruntime.quantization.quantize_dynamic`, int8 weights) was measured on
  the IMDB model reading the head (1 thread, 2026-12-01): quantizing every MatMul ran at about 3x fp32's rows/s but
  labels agreed with fp32 on 97.7% of 512 test rows (99.2% per-channel, 99.4% with reduced range); quantizing only
  the weight MatMuls (not attention's activation products), per-channel, ran at 2.1x (56.7 vs 27.3 rows/s) with
  98.7% agreement on 1,000 rows (98.9% for the feed-forward MatMuls alone, at 1.5x). Probabilities moved by 0.13-0.38.
  All short of the 99.5% goal, and a model should score as it was validated.
- Threads: one session with an intra-op thread per core (at most 2), batches in turn. Measured on the IMDB export
  (head, 512 rows in score_frame's 32-row chunks; 2026-12-01, load 1.1->2.6): 2 threads 24.6 rows/s and 21 ms for
  one review; 1 thread 26.2 rows/s, 34 ms; two 1-thread batches side by side 27.4 rows/s, 33 ms; onnxruntime's
  default (spinning threads) 30.5 rows/s but 72 ms for one review. Bulk rates are within the machine's noise; one
  review is clearly fastest with 2 threads. PREDICTOR_ORT_THREADS and PREDICTOR_ORT_PARALLEL (batches at once, each
  on its own thread) override this.

Never imports streamlit; imports TensorFlow/tf2onnx only to export.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from predictor.model_folder import KERAS_RUNTIME, ONNX_FILE

OPSET = 17  # the opset tf2onnx exported keras_bert with and onnxruntime matched (stack-facts)
# The export must give the Keras model's probabilities to within float rounding: measured 2.5e-7 on MiniLM-L6, 1e-7
# on the tests' tiny BERT. Anything bigger is a broken export, and the folder is not moved into place.
CHECK_TOLERANCE = 1e-5
CHECK_ROWS = 256  # validation texts (all their windows) scored both ways before the folder is moved into place
RUNTIME_VARIABLE = "PREDICTOR_BERT_RUNTIME"  # "keras": score with the Keras model even when the folder has an export
THREADS_VARIABLE = "PREDICTOR_ORT_THREADS"
DEFAULT_THREADS = min(2, os.cpu_count() or 1)
PARALLEL_VARIABLE = "PREDICTOR_ORT_PARALLEL"  # batches run at once, each on its own thread
DEFAULT_PARALLEL = 1
INPUT_NAMES = ("ids", "segments")

Forward = Callable[[np.ndarray, np.ndarray], object]  # (ids, segments) -> probabilities, `.numpy()` gives an array


class ExportMismatch(RuntimeError):
    """The exported graph does not give the Keras model's probabilities."""


class Rows(np.ndarray):
    """onnxruntime's output with TensorFlow's `.numpy()`, so callers of a forward pass need not know which ran."""

    def numpy(self) -> np.ndarray:
        return np.asarray(self)


@dataclass(frozen=True)
class Check:
    rows: int  # token rows (texts or windows) scored both ways
    max_difference: float


class OnnxForward:
    """An exported BERT classifier in an onnxruntime session; safe to call from several threads."""

    def __init__(self, path: Path, threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or session_threads()
        options.inter_op_num_threads = 1
        self.path = Path(path)
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]

    def __call__(self, ids: np.ndarray, segments: np.ndarray) -> Rows:
        """Probabilities of rows of ids; columns after the longest row's last non-pad id are dropped first."""
        ids = np.asarray(ids, np.float32)
        length = max(1, int(np.flatnonzero(ids.any(axis=0)).max(initial=0)) + 1)
        feed = {self._inputs[0]: ids[:, :length], self._inputs[1]: np.asarray(segments, np.float32)[:, :length]}
        return self._session.run(None, feed)[0].view(Rows)


def session_threads() -> int:
    return _positive(THREADS_VARIABLE, DEFAULT_THREADS)


def parallel_batches() -> int:
    return _positive(PARALLEL_VARIABLE, DEFAULT_PARALLEL)


def _positive(variable: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(variable, default)))
    except ValueError:
        return default


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def map_batches(score: Callable[[np.ndarray], np.ndarray], batches: list[np.ndarray]) -> list[np.ndarray]:
    """score(batch) for each batch, up to parallel_batches() at once: onnxruntime releases the GIL and a session may
    be run from several threads, so two one-thread runs use both cores without intra-op synchronisation."""
    global _pool
    workers = parallel_batches()
    if workers < 2 or len(batches) < 2:
        return [score(batch) for batch in batches]
    with _pool_lock:
        if _pool is None or _pool._max_workers != workers:
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="onnxruntime")
        pool = _pool
    return list(pool.map(score, batches))


def export(model: object, folder: Path) -> Path:
    """Write the Keras classifier's graph to folder/ONNX_FILE with inputs of any batch size and sequence length."""
    import tensorflow as tf
    import tf2onnx

    path = Path(folder) / ONNX_FILE
    signature = tuple(tf.TensorSpec([None, None], tf.float32, name=name) for name in INPUT_NAMES)
    tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET, output_path=str(path))
    return path


def check(expected: Callable[[np.ndarray], np.ndarray], exported: Callable[[np.ndarray], np.ndarray],
          ids: np.ndarray) -> Check:
    """Largest difference between two ways of scoring the same rows of ids (each a BertMember.forward)."""
    if not len(ids):
        return Check(0, 0.0)
    return Check(len(ids), float(np.abs(expected(ids) - exported(ids)).max()))


def checked_record(path: Path, result: Check, tolerance: float = CHECK_TOLERANCE) -> dict:
    """The record's `runtime` entry for an export that passed `result`; ExportMismatch if it did not."""
    if not result.max_difference <= tolerance:  # also refuses NaN
        raise ExportMismatch(f"the ONNX export of BERT ({path.name}) disagrees with the Keras model by "
                             f"{result.max_difference:.2e} (at most {tolerance:.0e} allowed) on {result.rows} "
                             "validation rows, so the model was not saved. This is a fault in the export, not in "
                             "your data: report it with this message and the versions of tf2onnx and onnxruntime.")
    return {"file": path.name, "engine": "onnxruntime", "precision": "fp32", "opset": OPSET,
            "check": {"rows": result.rows, "max_difference": result.max_difference, "tolerance": tolerance}}


def uses_onnx(runtime: dict) -> bool:
    """Whether a folder's BERT member is scored through its export: yes when it has one, unless
    PREDICTOR_BERT_RUNTIME=keras asks for the Keras model (bulk scoring of full-length rows measured faster in
    TensorFlow on this machine: see bench/README.md)."""
    return runtime.get("file", KERAS_RUNTIME) != KERAS_RUNTIME and os.environ.get(RUNTIME_VARIABLE) != KERAS_RUNTIME
