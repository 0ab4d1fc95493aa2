"""How long the page's "Why this label?" takes on a 300-word review (issue 10's goal: at most 3 s on 2 cores).

    python -m bench.explain           # 20 IMDB test reviews of 280-320 words
    python -m bench.explain --quick   # 3 of them
    python -m bench.explain --model DIR

What is timed is Scorer.explain(text, predicted label), what the page calls: occlusion over at most 60 phrases, BERT
re-reading only the windows that held each phrase, NBSVM the text without it (predictor/explain.py). The model is
loaded and warmed up first (one untimed explanation), as in the page. ktrain's own predictor.explain (LIME through
eli5) is not timed: eli5 is not among our dependencies, and LIME scores thousands of perturbed texts by design.
"""
import time

import numpy as np

import predictor  # noqa: F401  (before TensorFlow)
from bench.common import Progress, Run, isolated, load, log, parser
from bench.score import ensure_model

WORDS = (280, 320)


def timings(model_dir, texts):
    """Runs in its own process: seconds per explanation, and phrases and BERT windows per review."""
    from predictor import scoring
    from predictor.models import Scorer

    scorer = Scorer(model_dir)
    scorer.explain(texts[0], scorer.classes[0])  # warm-up: traces the model's graph, as the page's load does
    out = {"seconds": [], "phrases": [], "windows": []}
    progress = Progress("explanations", len(texts), unit="reviews")
    for i, text in enumerate(texts):
        label = scoring.score_text(scorer, text).label
        started = time.perf_counter()
        explanation = scorer.explain(text, label)
        out["seconds"].append(time.perf_counter() - started)
        out["phrases"].append(len(explanation.phrases))
        bert = scorer.model.bert
        out["windows"].append(len(bert.pieces.encode(explanation.text, bert.maxlen, bert.reading).ids) if bert else 0)
        progress.update(i + 1)
    return out


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--reviews", type=int, help="(default: 20; quick: 3)")
    p.add_argument("--model", help="saved model folder (default: as bench.score picks)")
    args = p.parse_args(argv)
    n = args.reviews or (3 if args.quick else 20)
    run = Run("explain", args.quick, {"reviews": n, "words": WORDS, "data": "../shared/data/imdb_test.csv.gz"})
    model_dir = args.model or ensure_model(args.quick)
    run.record["settings"]["model"] = str(model_dir)
    reviews = load("imdb_test")["review"]
    words = reviews.str.split().str.len()
    texts = reviews[(words >= WORDS[0]) & (words <= WORDS[1])].iloc[:n].tolist()
    out, rss, _ = isolated(timings, str(model_dir), texts)
    seconds = np.asarray(out["seconds"])
    run.results.update({"seconds": [round(s, 3) for s in seconds], "phrases": out["phrases"],
                        "bert_windows_per_review": out["windows"], "p50_s": round(float(np.median(seconds)), 2),
                        "max_s": round(float(seconds.max()), 2), "peak_rss_mb": rss})
    log(f"explain: p50 {np.median(seconds):.2f} s, max {seconds.max():.2f} s over {n} reviews")
    within = "within" if seconds.max() <= 3 else "OVER"
    run.row("product: Scorer.explain (occlusion), one review", f"{n} IMDB test reviews of {WORDS[0]}-{WORDS[1]} words",
            f"{within} the 3 s goal", f"p50 {np.median(seconds):.2f} s, max {seconds.max():.2f} s "
            f"({np.mean(out['phrases']):.0f} phrases, {np.mean(out['windows']):.1f} BERT windows a review)",
            f"{rss / 1024:.2f} GB")
    run.note("The model is the one bench.score uses (see settings.model); its reading and members decide the work.")
    run.finish()


if __name__ == "__main__":
    main()
