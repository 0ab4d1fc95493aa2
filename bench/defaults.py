"""train.py's defaults judged on dev rows: the classifier (hybrid, BERT or NBSVM) and how BERT reads (windows or head).

    python -m bench.defaults                  # 500 and 2,000 IMDB training rows (about 45 min on 2 cores)
    python -m bench.defaults --sizes 2000     # one size
    python -m bench.defaults --quick          # 100 rows, 1 epoch, maxlen 64, fixed lr, 200 dev rows

Both defaults were first drawn from IMDB test rows (issue 8); issue 23 asks that no rule be chosen on a test split.
Here they are judged on dev rows: imdb_train rows that no training sample of any size holds (the rows train.py and
bench.lowdata never use), never on imdb_test. At each size, as bench.lowdata samples it (seed 0; 10% of the rows as
train.py's --val-data):
- the default, a hybrid reading windows: its blend, and its members alone (BERT reading windows, NBSVM), all three
  scored by the model train.py saved;
- BERT alone reading the head (`--classifier bert --reading head`, what ktrain does), trained separately.
A default stands when it is best on the dev rows at every size; the results file says which is best at each.
The default model's expected calibration error on the dev rows, as blended and as calibrated on its validation rows,
is recorded beside (issue 19's low-data sizes).
"""
import predictor  # noqa: F401  (before TensorFlow)
from bench import bert
from bench.common import (Run, Steps, isolated, load, log, parser, single_label_scores, split_validation,
                          stratified_sample)
from bench.imdb import LABEL, SAMPLE_SEED, SPLIT_SEED, TEXT, VAL_FRACTION

DEV_ROWS = 2000


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--sizes", type=int, nargs="+", help="training set sizes (default: 500 2000)")
    p.add_argument("--dev-rows", type=int, help=f"dev rows scored (default: {DEV_ROWS:,})")
    args = p.parse_args(argv)
    quick = args.quick
    sizes = args.sizes or ([100] if quick else [500, 2000])
    dev_rows = args.dev_rows or (200 if quick else DEV_ROWS)
    epochs, maxlen, lr = (1, 64, 5e-5) if quick else (None, None, None)  # None: train.py's own choice
    run = Run("defaults", quick, {"sizes": sizes, "dev_rows": dev_rows, "epochs": epochs or "auto (train.py)",
                                  "maxlen": maxlen or "auto (train.py)", "lr": lr or "auto (train.py lr_find)",
                                  "val_fraction": VAL_FRACTION, "sample_seed": SAMPLE_SEED, "split_seed": SPLIT_SEED,
                                  "data": ["../shared/data/imdb_train.csv.gz"]})
    full = load("imdb_train")
    samples = {n: stratified_sample(full, LABEL, n, SAMPLE_SEED) for n in sizes}
    # bench.lowdata's sizes too, so no model either benchmark trains has seen a dev text (nor its duplicates).
    used = set().union(*(stratified_sample(full, LABEL, n, SAMPLE_SEED)[TEXT] for n in {500, 1000, 2000, *sizes}))
    dev = full[~full[TEXT].isin(used)].iloc[:dev_rows].reset_index(drop=True)
    dev_texts, y_dev = dev[TEXT].tolist(), dev[LABEL].tolist()
    steps = Steps({f"n={n}: {kind}": 300 + n * (1 if quick else 4) / 12 + dev_rows / 10 for n in sizes
                   for kind in ("hybrid", "bert-head")})
    sizes_out = {}
    for n in sizes:
        train_df, val_df = split_validation(samples[n], LABEL, VAL_FRACTION, SPLIT_SEED)
        log(f"n={n}: {len(train_df)} train + {len(val_df)} validation rows; dev {len(dev):,} (imdb_train rows no "
            "sample holds)")
        scores = {}
        steps.start(f"n={n}: hybrid")
        hybrid, _, _ = isolated(bert.train_and_score, f"defaults-n{n}-hybrid", train_df, val_df, TEXT, [LABEL],
                                dev_texts, epochs=epochs, maxlen=maxlen, lr=lr, seed=SPLIT_SEED)
        scores["hybrid (windows)"] = single_label_scores(y_dev, bert.single_label_predictions(hybrid))
        for member, name in [("bert", "BERT alone (windows)"), ("nbsvm", "NBSVM alone")]:
            scores[name] = single_label_scores(y_dev, bert.single_label_predictions(hybrid, member))
        steps.finish(f"n={n}: hybrid")
        steps.start(f"n={n}: bert-head")
        head, _, _ = isolated(bert.train_and_score, f"defaults-n{n}-head", train_df, val_df, TEXT, [LABEL],
                              dev_texts, epochs=epochs, maxlen=maxlen, lr=lr, seed=SPLIT_SEED, classifier="bert",
                              reading="head")
        scores["BERT alone (head)"] = single_label_scores(y_dev, bert.single_label_predictions(head))
        steps.finish(f"n={n}: bert-head")
        best = max(scores, key=lambda name: scores[name]["accuracy"])
        sizes_out[str(n)] = {"split": {"train": len(train_df), "validation": len(val_df), "dev": len(dev)},
                             "on_dev": scores, "best_on_dev": best, "bert_weight": hybrid["bert_weight"],
                             "epochs": hybrid["epochs"], "maxlen": hybrid["maxlen"],
                             # issue 19: calibration at low-data sizes, on rows neither fitted nor chose anything
                             "calibration_on_dev": bert.test_calibration(hybrid, y_dev)}
        for name, s in scores.items():
            run.row(f"on dev rows: {name}", f"n={n:,} ({len(train_df):,} train + {len(val_df)} val) / dev "
                                            f"{len(dev):,}", f"acc {s['accuracy']:.4f}" + (" (best)" if name == best
                                                                                          else ""))
    run.results.update({"sizes": sizes_out, "dev_rows": len(dev)})
    stands = {"classifier hybrid": all(v["best_on_dev"] == "hybrid (windows)" for v in sizes_out.values()),
              "reading windows": all(v["on_dev"]["BERT alone (windows)"]["accuracy"]
                                     >= v["on_dev"]["BERT alone (head)"]["accuracy"] for v in sizes_out.values())}
    run.results["defaults_stand"] = stands
    log("defaults on dev rows: " + ", ".join(f"{k}: {'stands' if v else 'DOES NOT STAND'}" for k, v in stands.items()))
    run.note("Dev rows are imdb_train rows outside every sample bench.lowdata and this benchmark draw; imdb_test is "
             "not read. One sample and one seed per size: gaps under a point are within noise.")
    run.finish()


if __name__ == "__main__":
    main()
