"""The BERT member's graph under each runtime and precision: forward passes per second on the same windows, and
whether a faster precision gives the same labels as fp32 with the same reading.

    python -m bench.runtimes                  # 1,024 windows of the first IMDB test reviews, 3 alternating rounds;
                                              # labels of the first 2,000 test reviews, fp32 vs the model's precision
    python -m bench.runtimes --rows 25000     # the labels of the whole test set (about 20 min on 2 cores)
    python -m bench.runtimes --model DIR      # which saved model (default: bench.score's MODEL_CANDIDATES)
    python -m bench.runtimes --quick          # 128 windows, 200 reviews, 1 round

Sides, all on the folder's own graph file (predictor/bert/graph.py) and the same rows of ids, in batches of 32:
OpenVINO fp32 and bf16 (bf16 only where the CPU computes it natively), onnxruntime fp32 (only if it is installed: the
product no longer uses it; it ran tf2onnx's graph until version 4) and the Keras model in TensorFlow. Rounds
alternate the sides. The labels part scores the whole model as the app does (members, blend, reading) once in fp32
and once at the precision train.py chose, and compares them review by review.
"""
import os
import time
from pathlib import Path

import numpy as np

import predictor  # noqa: F401  (before TensorFlow)
from bench.common import Run, isolated, load, log, parser, single_label_scores
from bench.score import ensure_model, model_identity

BATCH = 32


def windows_of(model_dir, texts, count):
    """The first `count` rows of ids the model reads for `texts` (windows, as it reads them)."""
    from predictor.scorer import Scorer

    bert = Scorer(model_dir).model.bert
    rows = [row for text in texts for row in bert.encode(text).ids]
    return np.array(rows[:count], np.int64)


def forward_rates(model_dir, ids, rounds):
    """Runs in its own process: windows/s of each side, rounds alternating the sides."""
    from predictor import model_folder
    from predictor.bert import runtime
    from predictor.models import compiled_forward, load_ktrain_predictor

    record = model_folder.read(model_dir).record
    path = Path(model_dir) / record.runtime["file"]
    sides = {f"openvino {p}": runtime.GraphForward(path, p) for p in runtime.native_precisions()}
    try:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = min(2, os.cpu_count() or 1), 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        sides["onnxruntime fp32"] = lambda x: session.run(None, {"ids": x})[0]
    except ImportError:
        log("onnxruntime is not installed: left out")
    keras = compiled_forward(load_ktrain_predictor(model_dir).model, record.maxlen)
    sides["keras (TensorFlow) fp32"] = lambda x: keras(np.pad(x, ((0, 0), (0, record.maxlen - x.shape[1]))))

    def trimmed(batch):
        return batch[:, :max(1, int(np.flatnonzero(batch.any(axis=0)).max(initial=0)) + 1)]

    batches = [trimmed(ids[i:i + BATCH]) for i in range(0, len(ids), BATCH)]
    outputs, seconds = {}, {name: [] for name in sides}
    for name, forward in sides.items():  # warm-up, and each side's output for the agreement figures
        outputs[name] = np.concatenate([np.asarray(forward(b)) for b in batches])
    for round_ in range(rounds):
        for name, forward in sides.items():
            started = time.perf_counter()
            for batch in batches:
                forward(batch)
            seconds[name].append(round(time.perf_counter() - started, 3))
        log(f"round {round_ + 1}/{rounds}: " + ", ".join(f"{n} {len(ids) / s[-1]:.1f}/s" for n, s in seconds.items()))
    reference = outputs["openvino fp32"]
    return {name: {"seconds": seconds[name], "windows_per_s": round(len(ids) / float(np.median(seconds[name])), 1),
                   "window_label_agreement_with_openvino_fp32": round(float(
                       (outputs[name].argmax(axis=1) == reference.argmax(axis=1)).mean()), 5),
                   "max_abs_difference_from_openvino_fp32": float(np.abs(outputs[name] - reference).max())}
            for name in sides}


def model_labels(model_dir, texts, precision):
    """Runs in its own process: the model's probabilities of `texts` as the app scores them, at `precision`."""
    from predictor.scorer import Scorer

    os.environ["PREDICTOR_BERT_PRECISION"] = precision
    scorer = Scorer(model_dir)
    started = time.perf_counter()
    probabilities = np.concatenate([scorer.predict_proba(texts[i:i + 256]) for i in range(0, len(texts), 256)])
    return {"probabilities": probabilities, "classes": scorer.classes, "seconds": time.perf_counter() - started,
            "precision": scorer.model.bert.precision if scorer.model.bert else None}


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--model", type=Path, help="saved model folder (default: bench.score's candidates)")
    p.add_argument("--windows", type=int, help="rows of ids timed (default: 1024; quick: 128)")
    p.add_argument("--rounds", type=int, help="alternating rounds (default: 3; quick: 1)")
    p.add_argument("--rows", type=int, help="test reviews whose labels are compared (default: 2000; quick: 200)")
    args = p.parse_args(argv)
    count = args.windows or (128 if args.quick else 1024)
    rounds = args.rounds or (1 if args.quick else 3)
    rows = args.rows or (200 if args.quick else 2000)
    model_dir = args.model or ensure_model()
    identity = model_identity(model_dir)
    run = Run("runtimes", args.quick, {"windows": count, "rounds": rounds, "batch": BATCH, "rows": rows,
                                       "model": identity, "data": "../shared/data/imdb_test.csv.gz"})
    test = load("imdb_test")
    ids = windows_of(model_dir, test["review"].iloc[:2000].tolist(), count)
    log(f"{len(ids)} rows of ids, {(ids != 0).sum(axis=1).mean():.0f} pieces on average")
    rates, rss, _ = isolated(forward_rates, model_dir, ids, rounds)
    run.results["forward"] = rates
    for name, r in rates.items():
        run.row(f"BERT graph: {name}", f"{len(ids):,} windows of IMDB test reviews, batch {BATCH}, {rounds} rounds",
                f"window labels agree with OpenVINO fp32 on {r['window_label_agreement_with_openvino_fp32']:.2%} "
                f"(max diff {r['max_abs_difference_from_openvino_fp32']:.1e})",
                f"{r['windows_per_s']:.1f} windows/s (median)", f"{rss / 1024:.2f} GB (every side in one process)")

    texts, truth = test["review"].iloc[:rows].tolist(), test["sentiment"].iloc[:rows].astype(str).tolist()
    chosen = identity["precision"] or "fp32"
    found = {precision: isolated(model_labels, model_dir, texts, precision)[0] for precision in ("fp32", chosen)}
    labels = {p: [f["classes"][i] for i in f["probabilities"].argmax(axis=1)] for p, f in found.items()}
    agreement = float(np.mean([a == b for a, b in zip(labels["fp32"], labels[chosen])]))
    difference = float(np.abs(found["fp32"]["probabilities"] - found[chosen]["probabilities"]).max())
    run.results["labels"] = {"rows": rows, "chosen_precision": chosen, "agreement_with_fp32": round(agreement, 5),
                             "max_abs_probability_difference": difference,
                             **{p: {**single_label_scores(truth, labels[p]), "seconds": round(f["seconds"], 1),
                                    "ran_as": f["precision"]} for p, f in found.items()}}
    run.row(f"the model as it scores, at its precision ({chosen}) vs fp32", f"IMDB test, first {rows:,} reviews",
            f"labels agree on {agreement:.2%} (max prob diff {difference:.1e}); acc {chosen} "
            f"{run.results['labels'][chosen]['accuracy']:.4f}, fp32 {run.results['labels']['fp32']['accuracy']:.4f}",
            f"{rows / found[chosen]['seconds']:.1f} vs {rows / found['fp32']['seconds']:.1f} reviews/s", "")
    run.finish()


if __name__ == "__main__":
    main()
