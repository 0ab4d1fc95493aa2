"""The page's "Why this label?": how long it takes on a 300-word review (goal: at most 3 s on 2 cores), and whether
its weights are faithful to the model.

    python -m bench.explain           # 50 IMDB test reviews of 280-320 words and 50 of the bundled sample's reviews
    python -m bench.explain --quick   # 3 of each
    python -m bench.explain --model DIR

What is timed is explain.explain_with_scorer(scorer, text, predicted label), what the page calls: occlusion over at
most 60 phrases, each member scoring the text without the phrase (predictor/explain.py). The model is loaded and
warmed up first (one untimed explanation), as in the page. ktrain's own predictor.explain (LIME through eli5) is
not timed: eli5 is not among our dependencies, and LIME scores thousands of perturbed texts by design.

Faithfulness is ERASER's comprehensiveness (DeYoung et al. 2020): the label's probability minus its probability once
the K phrases the explanation weighs most towards the label are left out, against leaving out K phrases drawn at
random (seeded). A faithful explanation's phrases cost the label more than random ones.
"""
import time

import numpy as np
import pandas as pd

import predictor  # noqa: F401  (before TensorFlow)
from bench.common import REPO, Progress, Run, isolated, load, log, parser
from bench.score import ensure_model

WORDS = (280, 320)
TOP = 3  # K phrases left out for comprehensiveness
SEED = 0


def measure(model_dir, sets):
    """Runs in its own process. Per set of texts: seconds per explanation, phrases and BERT windows per review, and
    the label's probability lost without the top K phrases and without K random ones."""
    from predictor import explain, scoring
    from predictor.scorer import Scorer

    scorer = Scorer(model_dir)
    first = next(iter(sets.values()))[0]
    # Warm-up: traces the model's graph, as the page's load does.
    explain.explain_with_scorer(scorer, first, scorer.classes[0])
    rng = np.random.default_rng(SEED)
    found = {}
    for name, texts in sets.items():
        out = found[name] = {"seconds": [], "phrases": [], "windows": [], "top_loss": [], "random_loss": []}
        progress = Progress(f"explanations ({name})", len(texts), unit="reviews")
        for i, text in enumerate(texts):
            label = scoring.score_text(scorer, text).label
            started = time.perf_counter()
            explanation = explain.explain_with_scorer(scorer, text, label)
            out["seconds"].append(time.perf_counter() - started)
            out["phrases"].append(len(explanation.phrases))
            bert = scorer.model.bert
            out["windows"].append(len(bert.encode(explanation.text).ids) if bert else 0)
            k = min(TOP, len(explanation.phrases) - 1)
            if k >= 1:
                top = sorted(explanation.phrases, key=lambda p: p.weight, reverse=True)[:k]
                drawn = [explanation.phrases[j] for j in rng.choice(len(explanation.phrases), k, replace=False)]
                column = scorer.classes.index(label)
                probabilities = scorer.score_batch([explanation.text, without(explanation.text, top),
                                                    without(explanation.text, drawn)]).probabilities[:, column]
                out["top_loss"].append(float(probabilities[0] - probabilities[1]))
                out["random_loss"].append(float(probabilities[0] - probabilities[2]))
            progress.update(i + 1)
    return found


def without(text, phrases):
    """`text` with `phrases` left out, each as explain leaves one out (the last first: earlier offsets hold)."""
    from predictor import models

    for phrase in sorted(phrases, key=lambda p: p.start, reverse=True):
        text = models.without(text, (phrase.start, phrase.end))
    return text


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--reviews", type=int, help="of each set (default: 50; quick: 3)")
    p.add_argument("--model", help="saved model folder (default: as bench.score picks)")
    args = p.parse_args(argv)
    n = args.reviews or (3 if args.quick else 50)
    run = Run("explain", args.quick, {"reviews": n, "words": WORDS, "top_k": TOP, "seed": SEED,
                                      "data": ["../shared/data/imdb_test.csv.gz", "data/sample_reviews.csv"]})
    model_dir = args.model or ensure_model()
    run.record["settings"]["model"] = str(model_dir)
    reviews = load("imdb_test")["review"]
    words = reviews.str.split().str.len()
    sets = {"imdb": reviews[(words >= WORDS[0]) & (words <= WORDS[1])].iloc[:n].tolist(),
            "sample": pd.read_csv(REPO / "data" / "sample_reviews.csv")["review"].astype(str).iloc[:n].tolist()}
    found, rss, _ = isolated(measure, str(model_dir), sets)
    for name, out in found.items():
        seconds = np.asarray(out["seconds"])
        top, drawn = np.asarray(out["top_loss"]), np.asarray(out["random_loss"])
        run.results[name] = {
            "seconds": [round(s, 3) for s in seconds], "phrases": out["phrases"],
            "bert_windows_per_review": out["windows"], "p50_s": round(float(np.median(seconds)), 2),
            "max_s": round(float(seconds.max()), 2), "top_k_loss_mean": round(float(top.mean()), 4),
            "random_k_loss_mean": round(float(drawn.mean()), 4),
            "share_top_beats_random": round(float((top > drawn).mean()), 4), "reviews_compared": len(top)}
        r = run.results[name]
        log(f"explain ({name}): p50 {r['p50_s']:.2f} s, max {r['max_s']:.2f} s; top-{TOP} phrases cost the label "
            f"{r['top_k_loss_mean']:.3f}, random ones {r['random_k_loss_mean']:.3f}")
        data = (f"{n} IMDB test reviews of {WORDS[0]}-{WORDS[1]} words" if name == "imdb"
                else f"the first {n} reviews of data/sample_reviews.csv")
        run.row("product: Scorer.explain (occlusion), one review", data,
                f"without the top {TOP} phrases the label loses {r['top_k_loss_mean']:.3f} of its probability, "
                f"without {TOP} random ones {r['random_k_loss_mean']:.3f} (top costs more on "
                f"{r['share_top_beats_random']:.0%} of reviews)",
                f"p50 {r['p50_s']:.2f} s, max {r['max_s']:.2f} s ({np.mean(out['phrases']):.0f} phrases, "
                f"{np.mean(out['windows']):.1f} BERT windows a review)", f"{rss / 1024:.2f} GB")
    run.results["peak_rss_mb"] = rss
    run.note("The model is the one bench.score uses (see settings.model); its reading and members decide the work. "
             "The sample's reviews are scored with it too: faithfulness is about the model's own behaviour.")
    run.finish()


if __name__ == "__main__":
    main()
