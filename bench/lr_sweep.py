"""Learning-rate sweep: the product trained at fixed rates and at --lr auto, judged on VALIDATION rows only.

    python -m bench.lr_sweep           # IMDB 2,000 rows (2 epochs, maxlen 128) and TREC-6 1,000 rows (4 epochs,
                                       # maxlen 32), each at lr 2e-5, 5e-5, 1e-4, 2e-4 and at auto (lr_find)
    python -m bench.lr_sweep --quick   # 100 rows of each, 1 epoch, maxlen 32, lr 5e-5, 1e-4 and auto: a smoke check
                                       # (about 4 minutes, most of it lr_find's many tiny epochs)

Backs the fallback rate `--lr auto` uses when lr_find gives no usable suggestion, and the band outside which a
suggestion should be distrusted. Only training files are read (imdb_train, trec_train): each dataset is a stratified
sample (seed 0) split 90/10 (stratified, seed 42); the 10% is train.py's --val-data and every figure here is
train.py's own validation metrics.json. No test row is read or scored. Every run has the same rows and seed 42, so the
rate is the only thing that changes.
"""
import json
import time
from pathlib import Path

import predictor  # noqa: F401  (before TensorFlow)
from bench.common import TMP, Run, Steps, isolated, load, log, parser, split_validation, stratified_sample
from bench.imdb import LABEL as IMDB_LABEL, SAMPLE_SEED, SPLIT_SEED, TEXT as IMDB_TEXT, VAL_FRACTION
from bench.multiclass import LABEL as TREC_LABEL, TEXT as TREC_TEXT

RATES = [2e-5, 5e-5, 1e-4, 2e-4]
TOLERANCE = 0.02  # a rate "trains well" on a dataset when its validation accuracy is within this of the best rate's
DATASETS = {  # name: (file, text column, label column, rows, epochs, maxlen)
    "imdb": ("imdb_train", IMDB_TEXT, IMDB_LABEL, 2000, 2, 128),
    "trec": ("trec_train", TREC_TEXT, TREC_LABEL, 1000, 4, 32),
}
QUICK = {"rows": 100, "epochs": 1, "maxlen": 32, "rates": [5e-5, 1e-4]}


def train_validate(name, train_df, val_df, text_column, label_column, *, epochs, maxlen, lr, seed):
    """train.py's train(Settings(...)) with val_df as --val-data; returns its validation metrics, lr block and times."""
    import predictor as product
    from predictor.training import Settings, train

    folder = TMP / "lr_sweep" / name
    folder.mkdir(parents=True, exist_ok=True)
    train_csv, val_csv = folder / "train.csv", folder / "val.csv"
    train_df[[text_column, label_column]].to_csv(train_csv, index=False)
    val_df[[text_column, label_column]].to_csv(val_csv, index=False)
    # BERT alone, reading the head: the rate is BERT's, and the recorded run (commit 39b2560) trained exactly this.
    settings = Settings(data=train_csv, text_column=text_column, label_columns=[label_column], val_data=val_csv,
                        epochs=epochs, maxlen=maxlen, lr=lr, seed=seed, out=folder / "model", force=True,
                        classifier="bert", reading="head")
    started = time.perf_counter()
    out = train(settings, log=lambda line: log(f"train.py: {line}"))
    train_s = time.perf_counter() - started
    training = json.loads((Path(out) / "training.json").read_text())
    validation = json.loads((Path(out) / "metrics.json").read_text())
    fit_s = training["durations_s"].get("fit")
    return {
        "val_accuracy": round(float(validation["accuracy"]), 4),
        "val_macro_f1": round(float(validation["macro_f1"]), 4),
        "val_rows": validation.get("rows"), "lr": training.get("lr"), "rows": training["rows"],
        "maxlen": training["settings"]["maxlen"], "batch_size": training["settings"]["batch_size"], "epochs": epochs,
        "train_s": round(train_s, 2), "fit_s": fit_s, "durations_s": training["durations_s"],
        "fit_examples_per_s": round(training["rows"]["train"] * epochs / fit_s, 2) if fit_s else None,
        "product_code": str(Path(product.__file__).parent), "model_dir": str(out),
    }


def rate_key(lr):
    return "auto" if lr is None else f"{lr:.0e}"


def summarise(sweep, rates, tolerance):
    """Which fixed rates train well on every dataset (the band) and which one rate is best overall."""
    good = {}
    for name, runs in sweep.items():
        best = max(runs[rate_key(r)]["val_accuracy"] for r in rates)
        good[name] = [r for r in rates if runs[rate_key(r)]["val_accuracy"] >= best - tolerance - 1e-9]
    on_all = [r for r in rates if all(r in good[name] for name in sweep)]
    mean = {rate_key(r): round(sum(sweep[n][rate_key(r)]["val_accuracy"] for n in sweep) / len(sweep), 4)
            for r in rates}
    worst = {rate_key(r): round(max(max(sweep[n][rate_key(q)]["val_accuracy"] for q in rates)
                                    - sweep[n][rate_key(r)]["val_accuracy"] for n in sweep), 4) for r in rates}
    best_overall = max(rates, key=lambda r: (mean[rate_key(r)], -worst[rate_key(r)]))
    return {"tolerance": tolerance, "good_per_dataset": {n: [rate_key(r) for r in v] for n, v in good.items()},
            "good_on_all": [rate_key(r) for r in on_all],
            "band": [rate_key(min(on_all)), rate_key(max(on_all))] if on_all else None,
            "mean_val_accuracy": mean, "largest_gap_to_best": worst, "best_overall": rate_key(best_overall)}


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--rates", type=float, nargs="+", help=f"fixed rates (default: {' '.join(map(str, RATES))})")
    p.add_argument("--tolerance", type=float, default=TOLERANCE,
                   help="validation-accuracy gap to the best rate still counted as training well (default 0.02)")
    args = p.parse_args(argv)
    quick = args.quick
    rates = sorted(args.rates or (QUICK["rates"] if quick else RATES))
    plan = {}
    for name, (file, text, label, rows, epochs, maxlen) in DATASETS.items():
        if quick:
            rows, epochs, maxlen = QUICK["rows"], QUICK["epochs"], QUICK["maxlen"]
        plan[name] = {"file": file, "text_column": text, "label_column": label, "rows": rows, "epochs": epochs,
                      "maxlen": maxlen}
    settings = {"datasets": plan, "rates": rates + ["auto (train.py lr_find)"], "seed": SPLIT_SEED,
                "sample_seed": SAMPLE_SEED, "split_seed": SPLIT_SEED, "val_fraction": VAL_FRACTION,
                "batch_size": "product default (32 on CPU)", "bert": "offline (all-MiniLM-L6-v2)",
                "tolerance": args.tolerance, "scored_on": "validation split of the training file only (no test rows)",
                "data": [f"../shared/data/{d['file']}.csv.gz" for d in plan.values()]}
    run = Run("lr_sweep", quick, settings)
    runs = [(name, lr) for name in plan for lr in rates + [None]]
    estimate = {"imdb": 60 + 1800 * 2 / 18, "trec": 50 + 900 * 4 / 90}
    steps = Steps({f"{n} lr={rate_key(lr)}": (30 if quick else estimate.get(n, 200)) + (0 if lr else 40)
                   for n, lr in runs})
    sweep, splits = {}, {}
    for name, d in plan.items():
        chosen = stratified_sample(load(d["file"]), d["label_column"], d["rows"], SAMPLE_SEED)
        train_df, val_df = split_validation(chosen, d["label_column"], VAL_FRACTION, SPLIT_SEED)
        splits[name] = {"train": len(train_df), "validation": len(val_df)}
        log(f"{name}: {len(train_df)} train + {len(val_df)} validation rows (of {d['rows']} sampled from {d['file']})")
        sweep[name] = {}
        for lr in rates + [None]:
            key = rate_key(lr)
            steps.start(f"{name} lr={key}")
            tag = f"{'quick-' if quick else ''}{name}-lr-{key}"
            result, rss, _ = isolated(train_validate, tag, train_df, val_df, d["text_column"], d["label_column"],
                                      epochs=d["epochs"], maxlen=d["maxlen"], lr=lr, seed=SPLIT_SEED)
            result["peak_rss_mb"] = rss
            sweep[name][key] = result
            log(f"{name} lr={key} (used {result['lr']['chosen']:.2e}): validation accuracy "
                f"{result['val_accuracy']:.4f}, macro-F1 {result['val_macro_f1']:.4f}; fit {result['fit_s']}s")
            steps.finish(f"{name} lr={key}")
    summary = summarise(sweep, rates, args.tolerance)
    run.results.update({
        "splits": splits, "runs": sweep, "summary": summary,
        "val_accuracy_table": {n: {k: r["val_accuracy"] for k, r in runs_.items()} for n, runs_ in sweep.items()},
        "val_macro_f1_table": {n: {k: r["val_macro_f1"] for k, r in runs_.items()} for n, runs_ in sweep.items()},
        "auto_chose": {n: {"chosen": r["auto"]["lr"]["chosen"], "source": r["auto"]["lr"].get("source"),
                           "estimates": r["auto"]["lr"].get("estimates")} for n, r in sweep.items()},
    })
    for name, d in plan.items():
        cells = ", ".join(f"{k}{' (' + format(r['lr']['chosen'], '.1e') + ')' if k == 'auto' else ''} "
                          f"{r['val_accuracy']:.3f}" for k, r in sweep[name].items())
        run.row(f"product via train.py: lr sweep ({d['epochs']} ep, maxlen {d['maxlen']})",
                f"{name}: {splits[name]['train']:,} train / {splits[name]['validation']} val (no test rows)",
                f"VALIDATION acc by lr: {cells}",
                "fit s by lr: " + ", ".join(f"{k} {r['fit_s']:.0f}" for k, r in sweep[name].items()))
    good = summary["good_per_dataset"]
    run.note(f"Band: rates within {args.tolerance * 100:g} points of validation accuracy of the best fixed rate on "
             "each dataset: "
             + "; ".join(f"{n} {', '.join(v)}" for n, v in good.items())
             + f". Good on both: {', '.join(summary['good_on_all']) or 'none'}"
             + (f" (band {summary['band'][0]}..{summary['band'][1]})" if summary["band"] else "")
             + f". Best single rate overall (highest mean validation accuracy, ties broken by the smaller largest gap "
               f"to a dataset's best): {summary['best_overall']} "
               f"(mean {summary['mean_val_accuracy'][summary['best_overall']]}).")
    run.note("lr auto chose " + "; ".join(f"{n} {v['chosen']:.2e} ({v['source']})"
                                          for n, v in run.results["auto_chose"].items()) + ".")
    run.note("Validation sets are small (" + ", ".join(f"{n} {s['validation']} rows" for n, s in splits.items())
             + "): one row is " + ", ".join(f"{1 / s['validation']:.1%} on {n}" for n, s in splits.items())
             + ". One sample and one seed per dataset, so gaps of a point or two are within noise.")
    run.note("Scored on the validation split of the training file only (train.py's metrics.json); no test row was "
             "read. Each run is its own spawned process; fit_s is fit_onecycle only (incl. Keras' per-epoch "
             "validation pass), train_s is the whole train() call.")
    run.finish()


if __name__ == "__main__":
    main()
