"""Bulk scoring throughput: the product's path (predictor.scoring.score_frame) vs ktrain's predictor.predict.

    python -m bench.score                 # 2,000 IMDB test rows, 3 alternating runs of each
    python -m bench.score --quick         # 200 rows, 1 run of each
    python -m bench.score --rows 25000    # the whole test set (about 10 minutes a run on 2 cores)
    python -m bench.score --model DIR     # which saved model (default: see MODEL_CANDIDATES)
    python -m bench.score --fitting       # only reviews that fit in the model's maxlen: equal work for both sides
                                          # whatever the model's reading (results: bench/results/score-fitting.json)
    python -m bench.score --head          # the model's BERT alone reading the start of each text, as ktrain does:
                                          # equal work on any review (results: bench/results/score-head.json)
    python -m bench.score --runtime keras # the BERT member in TensorFlow, as folders saved before ONNX exports are
    python -m bench.score --threads N     # onnxruntime intra-op threads (PREDICTOR_ORT_THREADS; default: cores, <= 2)
    python -m bench.score --breakdown     # also time Scorer.predict_proba and token counting alone (one more pass)

The product scores a copy of the model folder (bench/results/tmp/score-onnx*/model) with the BERT member exported to
ONNX and checked against the Keras model exactly as train.py does (predictor/runtime.py), so models trained before
the export existed can be measured; `--head` makes the copy read the head with BERT alone (training.json `reading`
and `bert_weight`), which is exactly the work ktrain's predictor does. Windows models also report windows/s.

Same model, same process, same texts. Runs alternate (product, ktrain, product, ...) so that a change in the machine's
load hits both. The ktrain side is what a user would write: ktrain.load_predictor(DIR).predict(texts,
return_proba=True) with its default settings.
"""
import json
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
MODEL_CANDIDATES = [TMP / "imdb" / "model", TMP / "n=2000" / "model", TMP / "score-model" / "model"]


def ensure_model(quick):
    for candidate in MODEL_CANDIDATES:
        if (candidate / "training.json").is_file():
            return candidate
    from bench import bert
    from bench.common import split_validation, stratified_sample

    log("no trained IMDB model found: training a small one through train.py (200 rows, 1 epoch, maxlen 128)")
    chosen = stratified_sample(load("imdb_train"), "sentiment", 200, 0)
    train_df, val_df = split_validation(chosen, "sentiment", 0.1, 42)
    isolated(bert.train_and_score, "score-model", train_df, val_df, "review", ["sentiment"], [], epochs=1,
             maxlen=128, lr=5e-5)
    return MODEL_CANDIDATES[-1]


def prepare_copy(model_dir, head, engine, check_texts):
    """A scratch copy of the model folder scored the way asked: exported to ONNX (checked on `check_texts` against
    the Keras model, as train.py checks on validation rows) or left to Keras, reading as saved or the head alone."""
    from predictor import markup, model_folder
    from predictor.models import BertMember

    copy = TMP / f"score-{engine}{'-head' if head else ''}" / "model"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(model_dir, copy, ignore=shutil.ignore_patterns("*.onnx"))
    info = model_folder.read(copy)
    record = replace(info.record, runtime={"file": model_folder.KERAS_RUNTIME})
    if head:  # BERT alone, reading the start: what ktrain.load_predictor(folder).predict computes
        record = replace(record, reading="head", bert_weight=[1.0] * len(record.bert_weight),
                         members=[m for m in record.members if m.kind == "bert"], classifier="bert",
                         markup=markup.KEEP)  # ktrain's predict reads texts as written, <br /> and all
    if engine == "onnx":  # exported and checked exactly as train.py does, on the texts given
        from predictor.models import load_ktrain_predictor
        from predictor.pieces import WordPieces
        from predictor.training import export_bert

        keras_predictor = load_ktrain_predictor(copy)
        keras = BertMember(keras_predictor.model, WordPieces.of_preprocessor(keras_predictor.preproc), record.maxlen,
                           record.reading)
        started = time.perf_counter()
        exported = export_bert(copy, keras_predictor.model, keras, check_texts)
        export_s = time.perf_counter() - started
        # NBSVM's arrays were saved and checked by train.py (copied with the folder): scored as train.py saved them.
        kept = {"nbsvm": info.record.runtime["nbsvm"]} if "nbsvm" in info.record.runtime and not head else {}
        record = replace(record, runtime={**exported, **kept, "export_s": export_s})
    model_folder.write(copy, record, info.metrics)
    return copy, record.runtime


def measure(model_dir, texts, repeats, breakdown):
    """Runs in its own process: load both, then alternate timed runs; returns timings and both outputs."""
    import ktrain
    import pandas as pd

    from predictor import scoring
    from predictor.models import Scorer

    started = time.perf_counter()
    scorer = Scorer(model_dir)
    product_load_s = time.perf_counter() - started
    started = time.perf_counter()
    ktrain_predictor = ktrain.load_predictor(str(model_dir))
    ktrain_load_s = time.perf_counter() - started
    frame = pd.DataFrame({"review": texts})
    # One untimed warm-up call each, so graph tracing is not charged to whichever side runs first.
    scoring.score_frame(scorer, frame.iloc[:8], "review")
    ktrain_predictor.predict(texts[:8], return_proba=True)

    runs = {"product": [], "ktrain": []}
    outputs = {}
    for repeat in range(repeats):
        progress = Progress(f"run {repeat + 1}/{repeats} product score_frame", len(texts))
        started = time.perf_counter()
        scored = scoring.score_frame(scorer, frame, "review",
                                     on_progress=lambda done, total: progress.update(done)).frame
        runs["product"].append(round(time.perf_counter() - started, 2))
        log(f"run {repeat + 1}/{repeats}: product {runs['product'][-1]:.1f}s")
        started = time.perf_counter()
        probabilities = ktrain_predictor.predict(texts, return_proba=True)
        runs["ktrain"].append(round(time.perf_counter() - started, 2))
        log(f"run {repeat + 1}/{repeats}: ktrain predict {runs['ktrain'][-1]:.1f}s")
        outputs = {"product_labels": scored["predicted_label"].tolist(),
                   "product_proba": scored[[f"prob_{c}" for c in scorer.classes]].to_numpy(float),
                   "ktrain_proba": np.asarray(probabilities), "classes": list(scorer.classes),
                   "ktrain_classes": list(ktrain_predictor.get_classes()),
                   "statuses": scored["scoring_status"].value_counts().to_dict()}
    predict_proba_s = token_count_s = None
    if breakdown:  # where the product's time goes: the forward passes alone vs the token counting score_frame adds
        started = time.perf_counter()
        scorer.predict_proba(texts)
        predict_proba_s = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        pieces = scorer.model.bert.pieces if scorer.model.bert else None
        for text in texts if pieces else []:
            pieces.count(text)
        token_count_s = round(time.perf_counter() - started, 2)
    bert = scorer.model.bert
    windows = sum(len(bert.pieces.encode(t, bert.maxlen, bert.reading).ids) for t in texts) if bert else 0
    return {"windows": windows, "bert_runtime": bert.runtime if bert else None, "reading": bert and bert.reading,
            "threads": os.environ.get("PREDICTOR_ORT_THREADS"), "runs_s": runs,
            "product_load_s": round(product_load_s, 2), "ktrain_load_s": round(ktrain_load_s, 2),
            "predict_proba_only_s": predict_proba_s, "token_count_only_s": token_count_s,
            "ktrain_batch_size": getattr(ktrain_predictor, "batch_size", None), **outputs}


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--rows", type=int, help="first N rows of imdb_test (default: 2000; quick: 200)")
    p.add_argument("--repeats", type=int, help="alternating runs of each (default: 3; quick: 1)")
    p.add_argument("--model", type=Path, help="saved model folder to score with")
    p.add_argument("--fitting", action="store_true",
                   help="score only test reviews that fit in the model's maxlen, the first --rows of them")
    p.add_argument("--head", action="store_true",
                   help="score the model's BERT alone reading the start of each text: ktrain's predictor's work")
    p.add_argument("--runtime", choices=["onnx", "keras"], default="onnx", help="how the product runs BERT")
    p.add_argument("--breakdown", action="store_true",
                   help="also time Scorer.predict_proba alone and token counting alone (another pass of the product)")
    p.add_argument("--threads", type=int, help="onnxruntime intra-op threads per session (default: the product's)")
    args = p.parse_args(argv)
    rows = args.rows or (200 if args.quick else 2000)
    repeats = args.repeats or (1 if args.quick else 3)
    name = ("score" + ("-fitting" if args.fitting else "") + ("-head" if args.head else "")
            + ("-keras" if args.runtime == "keras" else "") + (f"-threads{args.threads}" if args.threads else ""))
    run = Run(name, args.quick, {"rows": rows, "repeats": repeats, "fitting_only": args.fitting, "head": args.head,
                                 "runtime": args.runtime, "threads": args.threads,
                                 "data": "../shared/data/imdb_test.csv.gz"})
    if args.threads:
        os.environ["PREDICTOR_ORT_THREADS"] = str(args.threads)  # read by the measuring process, spawned below
    source_dir = args.model or ensure_model(args.quick)
    log(f"copying {source_dir}{' (exporting BERT to ONNX and checking it)' if args.runtime == 'onnx' else ''}")
    check_texts = load("imdb_train")["review"].iloc[:256].tolist()  # not scored below: stands in for validation rows
    (model_dir, runtime_record), _, _ = isolated(prepare_copy, source_dir, args.head, args.runtime, check_texts)
    log(f"runtime: {runtime_record}")

    training = json.loads((Path(model_dir) / "training.json").read_text())
    texts = load("imdb_test")["review"]
    if args.fitting:
        from predictor.pieces import WordPieces

        pieces = WordPieces.from_vocab_file(Path(training["bert"]["path"]) / "vocab.txt")
        texts = texts[[pieces.count(t) <= training["settings"]["maxlen"] for t in texts]]
    texts = texts.iloc[:rows].tolist()
    rows = len(texts)
    run.record["settings"].update({"model": str(Path(model_dir).relative_to(Path.cwd()) if Path(model_dir).is_absolute()
                                                and Path.cwd() in Path(model_dir).parents else model_dir),
                                   "maxlen": training["settings"]["maxlen"],
                                   "batch_size": training["settings"]["batch_size"]})
    log(f"scoring {rows:,} rows with {model_dir}, {repeats} alternating run(s) of each")
    m, rss, _ = isolated(measure, model_dir, texts, repeats, args.breakdown)
    product, ktrain_runs = np.array(m["runs_s"]["product"]), np.array(m["runs_s"]["ktrain"])
    ktrain_proba = m["ktrain_proba"][:, [m["ktrain_classes"].index(c) for c in m["classes"]]]
    ktrain_labels = [m["classes"][i] for i in ktrain_proba.argmax(axis=1)]
    agreement = float(np.mean([a == b for a, b in zip(m["product_labels"], ktrain_labels)]))
    max_diff = float(np.nanmax(np.abs(m["product_proba"] - ktrain_proba)))
    product_rate, ktrain_rate = rows / np.median(product), rows / np.median(ktrain_runs)
    run.results.update({
        "rows": rows, "model_source": str(source_dir), "runtime": runtime_record, "bert_runtime": m["bert_runtime"],
        "reading": m["reading"], "ort_threads": m["threads"], "windows": m["windows"],
        "windows_per_s": round(m["windows"] / np.median(product), 2), "runs_s": m["runs_s"],
        "median_s": {"product": float(np.median(product)), "ktrain": float(np.median(ktrain_runs))},
        "rows_per_s": {"product": round(product_rate, 2), "ktrain": round(ktrain_rate, 2)},
        "ratio_product_over_ktrain": round(product_rate / ktrain_rate, 3),
        "label_agreement": round(agreement, 5), "max_abs_probability_difference": max_diff,
        "load_s": {"product": m["product_load_s"], "ktrain": m["ktrain_load_s"]},
        "product_breakdown_s": {"Scorer.predict_proba alone": m["predict_proba_only_s"],
                                "Scorer.token_count for every text": m["token_count_only_s"]},
        "ktrain_predictor_batch_size": m["ktrain_batch_size"], "product_statuses": m["statuses"],
        "peak_rss_mb_measuring_process": rss,
    })
    data = (f"IMDB test, first {rows:,} rows{' that fit in maxlen' if args.fitting else ''}, {repeats} alternating "
            f"runs, median")
    what = (f"BERT {m['bert_runtime']}, reading {m['reading']}"
            + (f", {m['threads'] or 'default'} thread(s)" if m["bert_runtime"] == "onnxruntime" else ""))
    run.row(f"product: predictor.scoring.score_frame ({what})", data,
            f"labels agree with ktrain on {agreement:.2%} (max prob diff {max_diff:.1e})",
            f"{product_rate:.1f} rows/s ({product_rate / ktrain_rate:.2f}x ktrain), "
            f"{m['windows'] / np.median(product):.1f} windows/s", "")
    run.row("ktrain: load_predictor(...).predict(texts, return_proba=True)", data, "(reference)",
            f"{ktrain_rate:.1f} rows/s", f"{rss / 1024:.2f} GB (both in one process)")
    run.note("score_frame's probabilities are rounded to 4 decimals (PROBABILITY_DECIMALS), so differences up to "
             "5e-5 are by design.")
    run.note("Both sides loaded once before timing; one untimed warm-up call each. Runs alternate product, ktrain.")
    run.finish()


if __name__ == "__main__":
    main()
