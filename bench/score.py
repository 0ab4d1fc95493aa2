"""Bulk scoring throughput: the product's path (predictor.scoring.score_frame) vs ktrain's predictor.predict, one
named model, alternating runs in one process.

    python -m bench.score                 # the model as trained (train.py's default: a hybrid reading whole reviews
                                          # over windows, at its chosen precision) on 2,000 IMDB test reviews,
                                          # against ktrain's predict reading the first maxlen pieces; 3 runs each
    python -m bench.score --head          # the model's BERT alone reading the start of each text, as ktrain does:
                                          # equal work on any review (results: score-head.json)
    python -m bench.score --fitting       # only reviews that fit in the model's maxlen (results: score-fitting.json)
    python -m bench.score --precision fp32    # the graph in fp32 whatever the model chose; `keras`: the Keras model
    python -m bench.score --model DIR     # which saved model (default: see MODEL_CANDIDATES)
    python -m bench.score --rows N --repeats N
    python -m bench.score --quick         # 200 rows, 1 run of each: a smoke check

Same model, same process, same texts. Runs alternate (product, ktrain, product, ...) so that a change in the machine's
load hits both sides; every run is recorded, and the ratio is the product's median rows/s over ktrain's, with each
run's own ratio beside it. The ktrain side is what a user would write: ktrain.load_predictor(DIR).predict(texts,
return_proba=True) with its default settings. `--head` scores a copy of the folder whose training.json says BERT
alone reading the head with texts read as written (what ktrain's predictor computes); the graph file is the same.
"""
import hashlib
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import predictor  # noqa: F401  (before TensorFlow)
from bench.common import TMP, Progress, Run, isolated, load, log, parser

# The first of these that exists is scored; without any, a small model is trained first (accuracy is beside the
# point here: throughput depends on maxlen and the architecture, which are the product defaults on a CPU).
MODEL_CANDIDATES = [TMP / "imdb" / "model", TMP / "overlap" / "model", TMP / "score-model" / "model"]
PRECISIONS = ("fp32", "keras")


def ensure_model():
    for candidate in MODEL_CANDIDATES:
        if (candidate / "training.json").is_file():
            return candidate
    from bench import bert
    from bench.common import split_validation, stratified_sample

    log("no trained IMDB model found: training a small one through train.py (200 rows, 1 epoch, maxlen 128)")
    chosen = stratified_sample(load("imdb_train"), "sentiment", 200, 0)
    train_df, val_df = split_validation(chosen, "sentiment", 0.1, 42)
    isolated(bert.train_and_score, "score-model", train_df, val_df, "review", ["sentiment"], [], epochs=1,
             maxlen=128, lr=1e-4)
    return MODEL_CANDIDATES[-1]


def model_identity(model_dir):
    """What names the model scored: its folder, the hash of its graph and record, and what the record says."""
    from predictor import model_folder

    info = model_folder.read(model_dir)
    record = info.record
    digest = hashlib.sha256()
    for name in (model_folder.TRAINING_FILE, record.runtime.get("file", "")):
        if name and (Path(model_dir) / name).is_file():
            digest.update((Path(model_dir) / name).read_bytes())
    return {"folder": str(model_dir), "sha256_of_record_and_graph": digest.hexdigest(),
            "classifier": record.classifier, "reading": record.reading, "window_overlap": record.window_overlap,
            "maxlen": record.maxlen, "bert_weight": record.bert_weight, "precision": record.runtime.get("precision"),
            "engine": record.runtime.get("engine"), "trained_rows": record.rows.get("train"),
            "validation": info.metrics.get("accuracy"), "finished_at": record.finished_at}


def head_copy(model_dir):
    """A copy of the folder whose record says: BERT alone, reading the head, texts as written (ktrain's work)."""
    from predictor import markup, model_folder

    copy = TMP / "score-head" / "model"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(model_dir, copy)
    info = model_folder.read(copy)
    record = replace(info.record, reading="head", bert_weight=[1.0] * len(info.record.bert_weight),
                     members=[m for m in info.record.members if m.kind == "bert"], classifier="bert",
                     markup=markup.KEEP)  # ktrain's predict reads texts as written, <br /> and all
    model_folder.write(copy, record, info.metrics)
    return copy


def measure(model_dir, texts, repeats):
    """Runs in its own process: load both, then alternate timed runs; returns timings and both outputs."""
    import ktrain
    import pandas as pd

    from predictor import scoring
    from predictor.scorer import Scorer

    started = time.perf_counter()
    scorer = Scorer(model_dir)
    product_load_s = time.perf_counter() - started
    started = time.perf_counter()
    ktrain_predictor = ktrain.load_predictor(str(model_dir))
    ktrain_load_s = time.perf_counter() - started
    frame = pd.DataFrame({"review": texts})
    # One untimed warm-up call each, so graph tracing and compilation are not charged to whichever side runs first.
    scoring.score_frame(scorer, frame.iloc[:8], "review")
    ktrain_predictor.predict(texts[:8], return_proba=True)

    runs = {"product": [], "ktrain": []}
    for repeat in range(repeats):
        progress = Progress(f"run {repeat + 1}/{repeats} product score_frame", len(texts))
        started = time.perf_counter()
        scored = scoring.score_frame(scorer, frame, "review",
                                     on_progress=lambda done, total: progress.update(done)).frame
        runs["product"].append(round(time.perf_counter() - started, 2))
        started = time.perf_counter()
        probabilities = ktrain_predictor.predict(texts, return_proba=True)
        runs["ktrain"].append(round(time.perf_counter() - started, 2))
        log(f"run {repeat + 1}/{repeats}: product {runs['product'][-1]:.1f} s, ktrain {runs['ktrain'][-1]:.1f} s")
    bert = scorer.model.bert
    return {"windows": sum(len(bert.encode(t).ids) for t in texts) if bert else 0,
            "bert": {"runtime": bert.runtime, "precision": bert.precision, "reading": bert.reading,
                     "overlap": bert.overlap} if bert else None,
            "members": [m.kind for m in (scorer.model.bert, scorer.model.nbsvm) if m is not None],
            "runs_s": runs, "load_s": {"product": round(product_load_s, 2), "ktrain": round(ktrain_load_s, 2)},
            "product_labels": scored["predicted_label"].tolist(),
            "product_proba": scored[[f"prob_{c}" for c in scorer.classes]].to_numpy(float),
            "ktrain_proba": np.asarray(probabilities), "classes": list(scorer.classes),
            "ktrain_classes": list(ktrain_predictor.get_classes()),
            "statuses": scored["scoring_status"].value_counts().to_dict()}


def spread(values):
    values = np.asarray(values, float)
    return {"median": round(float(np.median(values)), 2), "min": round(float(values.min()), 2),
            "max": round(float(values.max()), 2)}


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--rows", type=int, help="first N rows of imdb_test (default: 2000; quick: 200)")
    p.add_argument("--repeats", type=int, help="alternating runs of each (default: 3; quick: 1)")
    p.add_argument("--model", type=Path, help="saved model folder to score with")
    p.add_argument("--fitting", action="store_true",
                   help="score only test reviews that fit in the model's maxlen, the first --rows of them")
    p.add_argument("--head", action="store_true",
                   help="score the model's BERT alone reading the start of each text: ktrain's predictor's work")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="score the graph in fp32, or the Keras model, whatever the folder chose")
    args = p.parse_args(argv)
    rows = args.rows or (200 if args.quick else 2000)
    repeats = args.repeats or (1 if args.quick else 3)
    name = ("score" + ("-fitting" if args.fitting else "") + ("-head" if args.head else "")
            + (f"-{args.precision}" if args.precision else ""))
    source_dir = args.model or ensure_model()
    identity = model_identity(source_dir)
    run = Run(name, args.quick, {"rows": rows, "repeats": repeats, "fitting_only": args.fitting, "head": args.head,
                                 "precision": args.precision or "the model's", "model": identity,
                                 "data": "../shared/data/imdb_test.csv.gz"})
    if args.precision == "keras":
        os.environ["PREDICTOR_BERT_RUNTIME"] = "keras"  # read by the measuring process, spawned below
    elif args.precision == "fp32":
        os.environ["PREDICTOR_BERT_PRECISION"] = "fp32"
    model_dir = head_copy(source_dir) if args.head else source_dir
    texts = load("imdb_test")["review"]
    if args.fitting:
        from predictor.bert.tokenizer import WordPieces

        tokenizer = WordPieces.from_vocab_file(Path(source_dir) / "vocab.txt")
        texts = texts[[tokenizer.count(t) <= identity["maxlen"] for t in texts]]
    texts = texts.iloc[:rows].tolist()
    rows = len(texts)
    log(f"scoring {rows:,} rows with {model_dir}, {repeats} alternating run(s) of each")
    m, rss, _ = isolated(measure, model_dir, texts, repeats)
    product, ktrain_runs = np.array(m["runs_s"]["product"]), np.array(m["runs_s"]["ktrain"])
    ktrain_proba = m["ktrain_proba"][:, [m["ktrain_classes"].index(c) for c in m["classes"]]]
    ktrain_labels = [m["classes"][i] for i in ktrain_proba.argmax(axis=1)]
    agreement = float(np.mean([a == b for a, b in zip(m["product_labels"], ktrain_labels)]))
    max_diff = float(np.nanmax(np.abs(m["product_proba"] - ktrain_proba)))
    ratios = (rows / product) / (rows / ktrain_runs)
    product_rate, ktrain_rate = rows / np.median(product), rows / np.median(ktrain_runs)
    run.results.update({
        "rows": rows, "model": identity, "bert": m["bert"], "members_scored": m["members"], "windows": m["windows"],
        "runs_s": m["runs_s"], "rows_per_s": {"product": spread(rows / product), "ktrain": spread(rows / ktrain_runs)},
        "windows_per_s": spread(m["windows"] / product), "ratio_product_over_ktrain": {
            "of_medians": round(product_rate / ktrain_rate, 3), "per_run": [round(float(r), 3) for r in ratios]},
        "label_agreement_with_ktrain": round(agreement, 5), "max_abs_probability_difference": max_diff,
        "load_s": m["load_s"], "product_statuses": m["statuses"], "peak_rss_mb_measuring_process": rss,
    })
    data = (f"IMDB test, first {rows:,} rows{' that fit in maxlen' if args.fitting else ''}, {repeats} alternating "
            f"runs: median (min-max)")
    bert = m["bert"] or {}
    what = (f"{'+'.join(m['members'])}; BERT {bert.get('runtime')} {bert.get('precision')}, reading "
            f"{bert.get('reading')}" + (f", windows sharing {bert['overlap']:.0%}" if bert.get("reading") == "windows"
                                        else ""))
    product_spread, ktrain_spread = spread(rows / product), spread(rows / ktrain_runs)
    run.row(f"product: predictor.scoring.score_frame ({what})", data,
            f"labels agree with ktrain's on {agreement:.2%} (max prob diff {max_diff:.1e})",
            f"{product_spread['median']:.1f} rows/s ({product_spread['min']:.1f}-{product_spread['max']:.1f}), "
            f"{product_rate / ktrain_rate:.2f}x ktrain (runs {', '.join(f'{r:.2f}' for r in ratios)}); "
            f"{m['windows'] / np.median(product):.1f} windows/s", "")
    run.row("ktrain: load_predictor(...).predict(texts, return_proba=True), reading the first maxlen pieces", data,
            "(reference)",
            f"{ktrain_spread['median']:.1f} rows/s ({ktrain_spread['min']:.1f}-{ktrain_spread['max']:.1f})",
            f"{rss / 1024:.2f} GB (both in one process)")
    run.note("score_frame's probabilities are rounded to 4 decimals (PROBABILITY_DECIMALS), so differences up to "
             "5e-5 are by design; without --head the product reads whole reviews and ktrain their start, so their "
             "labels need not agree.")
    run.note("Both sides loaded once before timing; one untimed warm-up call each. Runs alternate product, ktrain.")
    run.finish()


if __name__ == "__main__":
    main()
