"""The BERT member's graph run by OpenVINO: written when a model is saved (predictor/bert/graph.py), checked against
the Keras model it came from, its precision chosen on the validation rows, and what every entry point scores with.

Why OpenVINO: on the same graph and the same windows, OpenVINO fp32 was faster than onnxruntime fp32, and bfloat16
faster again with the same labels on all but a few reviews (python -m bench.runtimes measures all three, with the
label agreement, in bench/results/runtimes.json). Static int8 (NNCF, calibrated) was tried outside the benchmarks and
changed more labels than the 0.5% the footprint issue allows, so it is not offered and no figure of it is quoted.
Batch size and a second stream changed nothing beyond noise on 2 cores: the CPU is the limit.

- Precision: fp32, or bfloat16 where the CPU computes it natively (OpenVINO's OPTIMIZATION_CAPABILITIES lists BF16:
  AVX512-BF16 or AMX). train.py scores the validation rows both ways and keeps bf16 only if the BERT member loses at
  most ALLOWED_LOSS of its validation metric (accuracy; micro-F1 for multi-label) against fp32; training.json records
  the figures (`runtime.precision_check`). A bf16 model scored on a CPU without native bf16 runs in fp32, the
  reference it was checked against. PREDICTOR_BERT_PRECISION=fp32 scores any folder in fp32.
- Shapes: a batch is padded only to its longest row (the graph takes any length up to the model's maxlen).
- Threads: one inference at a time on every core (OpenVINO's LATENCY hint), which was as fast as two streams for
  bulk scoring and fastest for one review. PREDICTOR_BERT_THREADS caps the threads.
- Folders from before this graph (version 3) hold tf2onnx's export, whose inputs are float32 ids and segments; it
  runs here too, in fp32 only (measured 2e-7 from onnxruntime on the same file).

Never imports streamlit or TensorFlow.
"""
from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from predictor.bert import graph

ONNX_FILE = "bert.onnx"  # in a model folder: the BERT member as a graph for OpenVINO (predictor/bert/graph.py)
KERAS_RUNTIME = "keras"  # `runtime.file` of folders without an export: the BERT member runs in TensorFlow
ENGINE = "openvino"
LEGACY_ENGINE = "onnxruntime"  # what version-3 folders' records name: their tf2onnx graph now runs in OpenVINO fp32
FP32, BF16 = "fp32", "bf16"
OPENVINO_PRECISIONS = {FP32: "f32", BF16: "bf16"}
# The graph must give the Keras model's probabilities to within float rounding: measured 2.7e-7 on MiniLM-L6 and
# 6e-8 on the tests' tiny BERT. Anything bigger is a broken graph, and the folder is not moved into place.
CHECK_TOLERANCE = 1e-5
CHECK_ROWS = 256  # validation texts (all their windows) scored both ways before the folder is moved into place
ALLOWED_LOSS = 0.002  # a faster precision may cost at most 0.2 points of the member's validation metric
RUNTIME_VARIABLE = "PREDICTOR_BERT_RUNTIME"  # "keras": score with the Keras model even when the folder has a graph
PRECISION_VARIABLE = "PREDICTOR_BERT_PRECISION"  # "fp32": ignore a folder's faster precision
THREADS_VARIABLE = "PREDICTOR_BERT_THREADS"

Forward = Callable[[np.ndarray], np.ndarray]  # rows of int64 ids (0 = padding) -> probabilities


class ExportMismatch(RuntimeError):
    """The written graph does not give the Keras model's probabilities."""


@dataclass(frozen=True)
class Check:
    rows: int  # token rows (texts or windows) scored both ways
    max_difference: float


class GraphForward:
    """A BERT classifier graph compiled by OpenVINO at a precision; safe to call from several threads (one inference
    runs at a time, on every core). `shared` gives the one already compiled in this process, if any."""

    _compiled: "weakref.WeakValueDictionary[tuple, GraphForward]" = weakref.WeakValueDictionary()
    _compiled_lock = threading.Lock()

    @classmethod
    def shared(cls, path: Path, precision: str = FP32) -> "GraphForward":
        """The graph at `path` compiled at `precision`, compiled once per process while anything uses it: train.py's
        reload check and the model it checks, or two page sessions on one model, hold one copy (about 170 MB for
        MiniLM), not two. The file's size and time are part of the key, so a folder replaced in place compiles
        anew."""
        path = Path(path).resolve()
        stat = path.stat()
        key = (str(path), precision, stat.st_size, stat.st_mtime_ns, os.environ.get(PRECISION_VARIABLE),
               os.environ.get(THREADS_VARIABLE))
        with cls._compiled_lock:
            forward = cls._compiled.get(key)
            if forward is None:
                forward = cls._compiled[key] = cls(path, precision)
            return forward

    def __init__(self, path: Path, precision: str = FP32):
        import openvino as ov

        self.path = Path(path)
        model = _core().read_model(str(self.path))
        inputs = {port.get_any_name(): port.get_element_type() for port in model.inputs}
        # tf2onnx's graphs (version-3 folders) take float ids and segments: fp32 only, as bf16 cannot hold ids > 256.
        self.legacy = inputs.get(graph.INPUT) == ov.Type.f32
        wanted = FP32 if self.legacy or os.environ.get(PRECISION_VARIABLE) == FP32 else precision
        config = {"PERFORMANCE_HINT": "LATENCY",
                  "INFERENCE_PRECISION_HINT": OPENVINO_PRECISIONS[wanted if wanted in native_precisions() else FP32]}
        threads = os.environ.get(THREADS_VARIABLE, "")
        if threads.isdigit() and int(threads) > 0:
            config["INFERENCE_NUM_THREADS"] = threads
        self._compiled = _core().compile_model(model, "CPU", config)
        self.precision = BF16 if self._compiled.get_property("INFERENCE_PRECISION_HINT") == ov.Type.bf16 else FP32
        self._request = self._compiled.create_infer_request()
        self._lock = threading.Lock()

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        """Probabilities of rows of ids; columns after the longest row's last non-pad id are dropped first."""
        ids = np.asarray(ids)
        length = max(1, int(np.flatnonzero(ids.any(axis=0)).max(initial=0)) + 1)
        ids = np.ascontiguousarray(ids[:, :length], np.float32 if self.legacy else np.int64)
        feed = {graph.INPUT: ids, "segments": np.zeros_like(ids)} if self.legacy else {graph.INPUT: ids}
        with self._lock:
            self._request.infer(feed)
            return self._request.get_output_tensor(0).data.copy()


@lru_cache(maxsize=1)
def _core():
    import openvino as ov

    return ov.Core()


@lru_cache(maxsize=1)
def native_precisions() -> tuple[str, ...]:
    """fp32, and bf16 where this CPU computes it natively."""
    capabilities = _core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return (FP32, BF16) if "BF16" in capabilities else (FP32,)


def save_graph(weights: graph.ClassifierWeights, folder: Path) -> Path:
    """Write the classifier's graph to folder/ONNX_FILE."""
    return graph.write(weights, Path(folder) / ONNX_FILE)


def check(expected: Forward, exported: Forward, ids: np.ndarray) -> Check:
    """Largest difference between two ways of scoring the same rows of ids (each a BertMember.forward)."""
    if not len(ids):
        return Check(0, 0.0)
    return Check(len(ids), float(np.abs(expected(ids) - exported(ids)).max()))


def checked_record(path: Path, result: Check, tolerance: float = CHECK_TOLERANCE) -> dict:
    """The record's `runtime` entry for a graph that passed `result` in fp32; ExportMismatch if it did not."""
    if not result.max_difference <= tolerance:  # also refuses NaN
        raise ExportMismatch(f"the BERT graph ({path.name}) disagrees with the Keras model by "
                             f"{result.max_difference:.2e} (at most {tolerance:.0e} allowed) on {result.rows} "
                             "validation rows, so the model was not saved. This is a fault in the export, not in "
                             "your data: report it with this message and the versions of onnx and openvino.")
    return {"file": path.name, "engine": ENGINE, "precision": FP32, "opset": graph.OPSET,
            "check": {"rows": result.rows, "max_difference": result.max_difference, "tolerance": tolerance}}


def choose_precision(metrics: dict[str, float], metric: str, agreement: dict[str, float],
                     differences: dict[str, float], rows: int) -> dict:
    """The fastest precision whose validation `metric` is at most ALLOWED_LOSS below fp32's; `metrics` holds fp32's
    and each faster precision tried (none where the CPU has no faster one). Returns the record's `precision_check`."""
    chosen = FP32
    for precision in (p for p in (BF16,) if p in metrics):
        if metrics[precision] >= metrics[FP32] - ALLOWED_LOSS:
            chosen = precision
    tried = [p for p in metrics if p != FP32]
    if not tried:
        why = "this CPU has no native bfloat16, so the model scores in fp32"
    elif chosen == FP32:
        why = (f"{tried[0]} lost {metrics[FP32] - metrics[tried[0]]:.4f} of validation {metric} against fp32 (at "
               f"most {ALLOWED_LOSS} allowed), so the model scores in fp32")
    else:
        why = (f"{chosen} scored validation {metric} {metrics[chosen]:.4f} against fp32's {metrics[FP32]:.4f} (at "
               f"most {ALLOWED_LOSS} lower allowed), and runs about twice as fast")
    return {"chosen": chosen, "why": why, "metric": metric, "rows": rows, "scores": metrics,
            "label_agreement": agreement, "max_difference": differences, "allowed_loss": ALLOWED_LOSS}


def uses_graph(runtime: dict) -> bool:
    """Whether a folder's BERT member is scored through its graph: yes when it has one, unless
    PREDICTOR_BERT_RUNTIME=keras asks for the Keras model."""
    return runtime.get("file", KERAS_RUNTIME) != KERAS_RUNTIME and os.environ.get(RUNTIME_VARIABLE) != KERAS_RUNTIME


def graph_forward(folder: Path, runtime: dict) -> GraphForward:
    """The forward pass a folder's record names (its graph at its precision)."""
    precision = runtime.get("precision", FP32) if runtime.get("engine") == ENGINE else FP32
    return GraphForward.shared(Path(folder) / runtime["file"], precision)
