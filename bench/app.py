"""What a user of the app waits for: cold start, then one review at a time.

    python -m bench.app           # 3 cold starts; latency over 200 IMDB test reviews
    python -m bench.app --quick   # 1 cold start; 20 reviews
    python -m bench.app --model DIR

Cold start = a new Python process -> `import predictor` -> Scorer loaded (what the page's cached_scorer does) ->
the first review's probabilities through predictor.scoring.score_text (what the app's single-review box calls).
Measured from just before the process is spawned to the child's report, so interpreter start-up is included.
Streamlit's own server start and page render are not included. Each cold-start process then scores 19 more reviews
and reports its peak RSS and whether TensorFlow, ktrain or sklearn were imported: the scoring process's own memory.
Single-review latency: score_text on each review in turn with the model loaded and warmed up (one untimed call),
beside ktrain's predictor.predict(text, return_proba=True) on the same reviews for reference.
"""
import json
import subprocess
import sys
import time

import numpy as np

import predictor  # noqa: F401  (before TensorFlow)
from bench.common import REPO, Progress, Run, isolated, load, log, parser
from bench.score import ensure_model

MORE_REVIEWS = 19  # scored by each cold-start process after the first, for its peak memory while scoring
CHILD = r"""
import json, resource, sys, time
spawned = float(sys.argv[1]); t0 = time.time()
import predictor
from predictor import scoring
from predictor.scorer import Scorer
t1 = time.time()
scorer = Scorer(sys.argv[2])
t2 = time.time()
score = scoring.score_text(scorer, sys.argv[3])
t3 = time.time()
for text in json.loads(sys.argv[4]):  # then a few more reviews, for the process's peak memory while it scores
    scoring.score_text(scorer, text)
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "ktrain", "keras_bert", "sklearn"})
print("RESULT " + json.dumps({"interpreter_s": t0 - spawned, "import_s": t1 - t0, "load_s": t2 - t1,
                              "first_score_s": t3 - t2, "total_s": t3 - spawned, "label": score.label,
                              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                              "heavy_modules": heavy}))
"""


def cold_start(model_dir, text, more_texts):
    spawned = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, repr(spawned), str(model_dir), text, json.dumps(more_texts)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    finished = time.time()
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"cold-start child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    result["until_parent_saw_result_s"] = finished - spawned
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()}


def latencies(model_dir, texts):
    """Runs in its own process: per-review seconds for score_text and for ktrain's predict."""
    import ktrain

    from predictor import scoring
    from predictor.scorer import Scorer

    scorer = Scorer(model_dir)
    ktrain_predictor = ktrain.load_predictor(str(model_dir))
    scoring.score_text(scorer, texts[0])
    ktrain_predictor.predict(texts[0], return_proba=True)
    out = {"product": [], "ktrain": []}
    progress = Progress("single reviews", len(texts), unit="reviews")
    for i, text in enumerate(texts):
        started = time.perf_counter()
        scoring.score_text(scorer, text)
        out["product"].append(time.perf_counter() - started)
        started = time.perf_counter()
        ktrain_predictor.predict(text, return_proba=True)
        out["ktrain"].append(time.perf_counter() - started)
        progress.update(i + 1)
    return out


def stats(seconds):
    a = np.asarray(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(a, 50)), 1), "p95_ms": round(float(np.percentile(a, 95)), 1),
            "mean_ms": round(float(a.mean()), 1), "max_ms": round(float(a.max()), 1), "n": len(a)}


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--reviews", type=int, help="reviews for the latency figures (default: 200; quick: 20)")
    p.add_argument("--cold-starts", type=int, help="(default: 3; quick: 1)")
    p.add_argument("--model", help="saved model folder (default: as bench.score picks)")
    args = p.parse_args(argv)
    n = args.reviews or (20 if args.quick else 200)
    starts = args.cold_starts or (1 if args.quick else 3)
    run = Run("app", args.quick, {"reviews": n, "cold_starts": starts, "data": "../shared/data/imdb_test.csv.gz"})
    model_dir = args.model or ensure_model()
    training = json.loads((REPO / model_dir / "training.json").read_text())
    run.record["settings"].update({"model": str(model_dir), "maxlen": training["settings"]["maxlen"]})
    texts = load("imdb_test")["review"].iloc[:n].tolist()
    cold = []
    for i in range(starts):
        cold.append(cold_start(model_dir, texts[0], texts[1:1 + MORE_REVIEWS]))
        log(f"cold start {i + 1}/{starts}: {cold[-1]['total_s']:.1f}s "
            f"(interpreter {cold[-1]['interpreter_s']:.1f}, import {cold[-1]['import_s']:.1f}, "
            f"load {cold[-1]['load_s']:.1f}, first review {cold[-1]['first_score_s']:.2f})")
    times, rss, _ = isolated(latencies, str(model_dir), texts)
    product, ktrain_stats = stats(times["product"]), stats(times["ktrain"])
    totals = [c["total_s"] for c in cold]
    run.results.update({"cold_starts": cold, "cold_start_median_s": float(np.median(totals)),
                        "latency": {"product_score_text": product, "ktrain_predict": ktrain_stats},
                        "peak_rss_mb_latency_process": rss})
    peak = max(c["peak_rss_mb"] for c in cold)
    heavy = sorted({m for c in cold for m in c["heavy_modules"]})
    run.results.update({"scoring_process_peak_rss_mb": peak, "scoring_process_heavy_modules": heavy})
    run.row("product: cold start (process -> import -> Scorer -> first score_text)",
            f"{starts} fresh processes, then {MORE_REVIEWS} more reviews each", "",
            f"median {np.median(totals):.1f} s (runs: "
            + ", ".join(f"{t:.1f}" for t in totals) + ")",
            f"{peak:.0f} MB scoring process ({', '.join(heavy) if heavy else 'no TensorFlow, ktrain or sklearn'})")
    run.row("product: score_text, one review at a time", f"{n} IMDB test reviews", "",
            f"p50 {product['p50_ms']:.0f} ms, p95 {product['p95_ms']:.0f} ms", f"{rss / 1024:.2f} GB (with ktrain's)")
    run.row("ktrain: predictor.predict(text, return_proba=True)", f"same {n} reviews", "",
            f"p50 {ktrain_stats['p50_ms']:.0f} ms, p95 {ktrain_stats['p95_ms']:.0f} ms", "")
    run.note("score_text also counts the review's word pieces (to flag truncation), which ktrain's predict does not.")
    run.note("Cold starts after the first find the model and libraries in the OS page cache.")
    run.finish()


if __name__ == "__main__":
    main()
