"""The BERT member as an ONNX graph run by onnxruntime: exported when a model is saved, checked against the Keras
model it came from, and what every entry point scores with when the folder has it.

Why: TensorFlow runs keras_bert's graph with per-call overhead and always at the shape it was traced for; onnxruntime
runs the same arithmetic leaner (stack-facts: ~10x faster one text at a time, ~1.2x for batches, outputs equal to
2.5e-7). ktrain's own `export_model_to_onnx` refuses 'bert'-mode models, so the Keras model is exported with tf2onnx.

- The graph takes any sequence length ([None, None] inputs: keras_bert's position embeddings slice the table to the
  input's length), so a batch is padded only to its longest row; padding is masked, so trimming it changes
  probabilities only by float rounding (measured 4e-7 on IMDB rows).
- fp32 only. Dynamic int8 quantization (`onnxruntime.quantization.quantize_dynamic`, int8 weights) was measured on
  the IMDB model (512 test rows reading the head, 1 thread, 2026-12-01): about 3x fp32's rows/s (51.6 vs 17.1 while
  the machine was loaded), but labels agreed with fp32 on only 97.7% of rows (per-tensor), 99.2% (per-channel) and
  99.4% (MatMul only, per-channel, reduced range), with probabilities moving by 0.13-0.38: short of the 99.5% goal,
  and a model should score as it was validated.
- One intra-op thread per session: on this shared 2-core machine 1 thread gave more rows/s than 2 or onnxruntime's
  default (17.1 vs 13.6 / 13.5 fp32 rows/s while others' work loaded the cores), and the scorer is called from
  Streamlit's threads, which onnxruntime's own pool would only contend with. PREDICTOR_ORT_THREADS overrides it.

Never imports streamlit; imports TensorFlow/tf2onnx only to export.
"""
from __future__ import annotations

import os
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
THREADS_VARIABLE = "PREDICTOR_ORT_THREADS"
DEFAULT_THREADS = 1
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
    try:
        return max(1, int(os.environ.get(THREADS_VARIABLE, DEFAULT_THREADS)))
    except ValueError:
        return DEFAULT_THREADS


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
    return runtime.get("file", KERAS_RUNTIME) != KERAS_RUNTIME
