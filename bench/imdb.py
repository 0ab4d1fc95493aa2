"""IMDB (25k train / 25k test): the product (train.py's path, offline MiniLM-L6 weights) beside TF-IDF+LR and NBSVM.

    python -m bench.imdb            # full: 25k train (90/10 train/validation split, as train.py does), 25k test
    python -m bench.imdb --quick    # 200 train rows, 200 test rows, maxlen 64: a smoke check
    python -m bench.imdb --train-rows 5000   # a stratified subset (labelled as such in the results)

The product and the baselines train on exactly the same rows: train.py gets the training rows minus a stratified 10%
as --val-data (train.py's own default holds out 10% too), and the baselines train on all of them, validation rows
included (bench/baselines.py: equal work).
"""
import predictor  # noqa: F401  (before TensorFlow)
from bench import baselines, bert
from bench.common import (speed_cell, Run, Steps, isolated, load, log, parser, single_label_scores, split_validation,
                          stratified_sample)

TEXT, LABEL = "review", "sentiment"
SAMPLE_SEED = 0  # which rows a subset takes
SPLIT_SEED = 42  # train.py's default seed; also the validation split's
VAL_FRACTION = 0.1
PUBLISHED = [  # accuracy on the IMDB test set, as published (not measured here)
    ("ktrain BERT-base (published)", "25k/25k, 1 epoch, maxlen 500, GPU", 0.9394),
    ("ktrain NBSVM (published)", "25k/25k, ktrain tutorial", 0.9227),
    ("NBSVM-bigram (published, Wang & Manning 2012)", "25k/25k", 0.9122),
    ("DistilBERT (published)", "25k/25k", 0.9282),
]


def gb(mb):
    return f"{mb / 1024:.2f} GB"


def three_models(run, tag, train_df, val_df, test_df, *, epochs, maxlen, lr, models=("bert", "tfidf", "nbsvm"),
                 data_label="", steps=None):
    """Train the product on train_df with val_df as --val-data, the baselines on both; score test_df.

    Adds one README row per model and returns {model: result dict}.
    """
    test_texts, y_test = test_df[TEXT].tolist(), test_df[LABEL].tolist()
    seen = baselines.rows_the_product_saw(train_df, val_df)
    out = {}
    if "tfidf" in models:
        steps and steps.start(f"{tag}: TF-IDF+LR")
        result, rss, _ = isolated(baselines.tfidf_logreg, seen[TEXT].tolist(), seen[LABEL].tolist(), test_texts)
        out["tfidf_logreg"] = {**single_label_scores(y_test, result["pred"]), "peak_rss_mb": rss,
                               **{k: result[k] for k in ("train_s", "eval_s", "settings")}}
        steps and steps.finish(f"{tag}: TF-IDF+LR")
    if "nbsvm" in models:
        steps and steps.start(f"{tag}: NBSVM")
        result, rss, _ = isolated(baselines.nbsvm, seen[TEXT].tolist(), seen[LABEL].tolist(), test_texts)
        out["nbsvm"] = {**single_label_scores(y_test, result["pred"]), "peak_rss_mb": rss,
                        **{k: result[k] for k in ("train_s", "eval_s", "settings")}}
        steps and steps.finish(f"{tag}: NBSVM")
    if "bert" in models:
        steps and steps.start(f"{tag}: product")
        result, rss, _ = isolated(bert.train_and_score, tag, train_df, val_df, TEXT, [LABEL], test_texts,
                                  epochs=epochs, maxlen=maxlen, lr=lr, seed=SPLIT_SEED)
        out["product"] = {**single_label_scores(y_test, bert.single_label_predictions(result)),
                          "peak_rss_mb": rss, **bert.timing_summary(result),
                          "test_calibration": bert.test_calibration(result, y_test)}
        if "bert" in result["member_probabilities"] and result["classifier"] != "bert":
            out["product_bert_member"] = single_label_scores(y_test, bert.single_label_predictions(result, "bert"))
        steps and steps.finish(f"{tag}: product")
    n_train = len(seen)
    data = data_label or f"train {n_train:,} (product: {len(train_df):,} + {len(val_df):,} val) / test {len(test_df):,}"
    for key, name in [("product", bert.product_name(out.get("product"))), ("tfidf_logreg", "TF-IDF 1-2g + LR"),
                      ("nbsvm", "ktrain NBSVM (1-3g)")]:
        if key not in out:
            continue
        r = out[key]
        speed = speed_cell(r, n_train, len(test_df))
        run.row(name, data, f"acc {r['accuracy']:.4f}, macro-F1 {r['macro_f1']:.4f}", speed, gb(r["peak_rss_mb"]))
        if key == "product" and "product_bert_member" in out:
            member = out["product_bert_member"]
            run.row(f"  its BERT member alone (reads by {r['reading']})", data,
                    f"acc {member['accuracy']:.4f}, macro-F1 {member['macro_f1']:.4f}", "(scored with the product)")
    return out


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--train-rows", type=int, help="stratified subset of imdb_train (default: all 25,000)")
    p.add_argument("--test-rows", type=int, help="first N rows of imdb_test (default: all 25,000)")
    p.add_argument("--epochs", type=int, help="(default: train.py's)")
    p.add_argument("--maxlen", type=int, help="(default: train.py's; --quick: 64)")
    p.add_argument("--lr", default="auto")
    args = p.parse_args(argv)
    quick = args.quick
    train_rows = args.train_rows or (200 if quick else 25000)
    test_rows = args.test_rows or (200 if quick else 25000)
    maxlen = args.maxlen or (64 if quick else None)
    epochs = args.epochs or (1 if quick else None)
    lr = None if args.lr == "auto" else float(args.lr)
    settings = {"train_rows": train_rows, "test_rows": test_rows, "epochs": epochs or "auto (train.py)",
                "maxlen": maxlen or "auto (train.py)", "classifier": "train.py's default",
                "reading": "train.py's default", "lr": args.lr, "batch_size": "product default (32 on CPU)",
                "bert": "offline (all-MiniLM-L6-v2)",
                "val_fraction": VAL_FRACTION, "sample_seed": SAMPLE_SEED, "split_seed": SPLIT_SEED,
                "data": ["../shared/data/imdb_train.csv.gz", "../shared/data/imdb_test.csv.gz"]}
    run = Run("imdb", quick, settings)

    full_train, test = load("imdb_train"), load("imdb_test")
    test = test.iloc[:test_rows].reset_index(drop=True)
    chosen = stratified_sample(full_train, LABEL, train_rows, SAMPLE_SEED)
    train_df, val_df = split_validation(chosen, LABEL, VAL_FRACTION, SPLIT_SEED)
    subset = train_rows < len(full_train)
    fit_estimate = len(train_df) * (epochs or 2) / (40 if quick else 15)
    tag = "imdb-quick" if quick else "imdb"
    steps = Steps({f"{tag}: TF-IDF+LR": 60, f"{tag}: NBSVM": 300,
                   f"{tag}: product": 200 + fit_estimate + 4.4 * (len(test) + len(val_df)) / 90})
    log(f"train {len(train_df):,} + val {len(val_df):,} (of {train_rows:,}{' stratified subset' if subset else ''}), "
        f"test {len(test):,}")
    results = three_models(run, "imdb-quick" if quick else "imdb", train_df, val_df, test, epochs=epochs,
                           maxlen=maxlen, lr=lr, steps=steps)
    run.results.update({"split": {"train": len(train_df), "validation": len(val_df), "test": len(test),
                                  "train_subset_of_25000": subset}, "models": results})
    if subset and not quick:
        log("baselines again on the full 25k training set, for reference")
        full_tr, full_val = split_validation(full_train, LABEL, VAL_FRACTION, SPLIT_SEED)
        extra = three_models(run, "imdb-full-baselines", full_tr, full_val, test, epochs=epochs, maxlen=maxlen,
                             lr=lr, models=("tfidf", "nbsvm"),
                             data_label=f"train {len(full_tr) + len(full_val):,} (all) / test {len(test):,}")
        run.results["baselines_on_full_train"] = extra
        run.note(f"The product was trained on a stratified subset of {train_rows:,} training rows (time limit), not "
                 "all 25k; the baselines were run on both that subset and the full 25k training split.")
    run.results["published"] = [{"model": m, "data": d, "accuracy": a} for m, d, a in PUBLISHED]
    for model, data, accuracy in ([] if quick else PUBLISHED):
        run.row(model, data, f"acc {accuracy:.4f}", "not measured here", "")
    run.note("All three models see the same rows: train.py gets a stratified 10% of them as --val-data (they choose "
             "its blend weight and precision), the baselines train on all of them. All read the texts with HTML "
             "turned into text, train.py's default (predictor/markup.py).")
    run.note("The product's train_s is train.py's whole run: reading, lr_find (at most 64 batches), fit, validation "
             "scoring, save and reload check. train_examples_per_s is fit only. NBSVM's train_s includes its n-gram "
             "preprocessing; its eval_s includes preprocessing the test texts.")
    run.note("Peak RSS is each model's own process (spawned fresh, so it includes Python and library imports).")
    run.note("Published figures are quoted for context, not reproduced: they use BERT-base (12 layers, 768 wide) at "
             "maxlen 500 on a GPU; the product's offline weights are MiniLM-L6 (6 layers, 384 wide) at maxlen 128, "
             "reading long reviews as train.py's default says (see the product row).")
    run.note("The product is train.py's default: BERT and ktrain's NBSVM trained on the same rows, blended with a "
             "weight chosen on the validation rows only; its BERT member's own accuracy is listed under it.")
    run.finish()


if __name__ == "__main__":
    main()
