"""Learning curve on IMDB: the product, TF-IDF+LR and NBSVM trained on 500, 1,000 and 2,000 rows.

    python -m bench.lowdata           # 500 / 1,000 / 2,000 rows, product defaults (4 epochs, lr auto, maxlen auto)
    python -m bench.lowdata --quick   # 100 / 200 rows, 1 epoch, maxlen 64, fixed lr, 300 test rows: a smoke check

Rows are a stratified sample of imdb_train (seed 0, the same seed for every size); 10% of them (stratified, seed 42)
are train.py's --val-data, and all three models train on the other 90%. Every model is scored on the same fixed
slice: the first 5,000 rows of imdb_test (the file is a fixed shuffle).
"""
import predictor  # noqa: F401  (before TensorFlow)
from bench.common import Run, Steps, load, log, parser, split_validation, stratified_sample
from bench.imdb import LABEL, SAMPLE_SEED, SPLIT_SEED, VAL_FRACTION, three_models


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--sizes", type=int, nargs="+", help="training set sizes (default: 500 1000 2000)")
    p.add_argument("--test-rows", type=int, help="first N rows of imdb_test (default: 5000)")
    p.add_argument("--epochs", type=int, help="product epochs (default: train.py's automatic choice)")
    args = p.parse_args(argv)
    quick = args.quick
    sizes = args.sizes or ([100, 200] if quick else [500, 1000, 2000])
    test_rows = args.test_rows or (300 if quick else 5000)
    epochs = args.epochs or (1 if quick else None)  # None: train.py's automatic choice (4 at these sizes)
    maxlen = 64 if quick else None  # None: train.py's automatic choice (capped at 128 on a CPU)
    lr = 5e-5 if quick else None  # None: train.py's lr_find
    settings = {"sizes": sizes, "test_rows": test_rows, "epochs": epochs or "auto (train.py)",
                "maxlen": maxlen or "auto (train.py)",
                "lr": lr or "auto (train.py lr_find)", "bert": "offline (all-MiniLM-L6-v2)",
                "val_fraction": VAL_FRACTION, "sample_seed": SAMPLE_SEED, "split_seed": SPLIT_SEED,
                "data": ["../shared/data/imdb_train.csv.gz", "../shared/data/imdb_test.csv.gz"]}
    run = Run("lowdata", quick, settings)
    full_train, test = load("imdb_train"), load("imdb_test")
    test = test.iloc[:test_rows].reset_index(drop=True)
    speed = 40 if quick else 14
    steps = Steps({f"{'quick-' if quick else ''}n={n}: {m}": e for n in sizes for m, e in
                   [("TF-IDF+LR", 10), ("NBSVM", 40),
                    ("product", 200 + 0.9 * n * (epochs or 4) / speed + 4.4 * test_rows / 90)]})
    curve = {}
    for n in sizes:
        chosen = stratified_sample(full_train, LABEL, n, SAMPLE_SEED)
        train_df, val_df = split_validation(chosen, LABEL, VAL_FRACTION, SPLIT_SEED)
        log(f"n={n}: {len(train_df)} train + {len(val_df)} validation rows; test {len(test):,}")
        curve[n] = three_models(run, f"quick-n={n}" if quick else f"n={n}", train_df, val_df, test, epochs=epochs,
                                maxlen=maxlen, lr=lr, steps=steps,
                                data_label=f"n={n:,} ({len(train_df):,} train + {len(val_df)} val) / "
                                           f"test {len(test):,}")
        curve[n]["split"] = {"train": len(train_df), "validation": len(val_df)}
    run.results["curve"] = {str(n): v for n, v in curve.items()}
    run.results["accuracy_table"] = {str(n): {m: curve[n][m]["accuracy"] for m in curve[n] if m != "split"}
                                     for n in sizes}
    run.note("One sample and one seed per size: at 500 rows a different sample can move accuracy by a point or "
             "more, so small gaps between models are within noise.")
    run.note("All three models train on the same 90% of the n rows; the other 10% is train.py's --val-data.")
    run.finish()


if __name__ == "__main__":
    main()
