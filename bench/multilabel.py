"""Multi-label: GoEmotions (28 labels) through train.py, beside one-vs-rest TF-IDF+LR.

    python -m bench.multilabel                      # all 43,410 training rows (about 50 min on 2 cores)
    python -m bench.multilabel --train-rows 8000    # a seeded random subset (labelled as such)
    python -m bench.multilabel --quick              # 300 train rows, 200 test rows, 1 epoch, maxlen 32, fixed lr

train.py gets the 28 0/1 label columns (multi-label mode) and the first --val-rows rows of goemotions_dev as
--val-data; every model is scored on goemotions_test (5,427) with the same 0.5 threshold. The baseline is trained on
the same rows as the product and, for reference, on all 43,410 training rows.
"""
import numpy as np
import pandas as pd

import predictor  # noqa: F401  (before TensorFlow)
from bench import baselines, bert
from bench.common import speed_cell, Run, Steps, isolated, load, log, multilabel_scores, parser

TEXT = "text"
LABELS = ["admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion", "curiosity", "desire",
          "disappointment", "disapproval", "disgust", "embarrassment", "excitement", "fear", "gratitude", "grief",
          "joy", "love", "nervousness", "optimism", "pride", "realization", "relief", "remorse", "sadness",
          "surprise", "neutral"]


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--train-rows", type=int, help="seeded random subset of goemotions_train (default: all)")
    p.add_argument("--val-rows", type=int, help="first N rows of goemotions_dev as --val-data (default: 1000)")
    p.add_argument("--epochs", type=int, help="product epochs (default: train.py's, 4)")
    args = p.parse_args(argv)
    quick = args.quick
    train_rows = args.train_rows or (300 if quick else None)
    val_rows = args.val_rows or (100 if quick else 1000)
    epochs = args.epochs or (1 if quick else None)  # None: train.py's automatic choice
    maxlen, lr = (32, 5e-5) if quick else (None, None)
    run = Run("multilabel", quick, {"train_rows": train_rows or "all", "val_rows": val_rows,
                                    "epochs": epochs or "auto (train.py)",
                                    "maxlen": maxlen or "auto (train.py)", "lr": lr or "auto (train.py lr_find)",
                                    "threshold": 0.5, "sample_seed": 0,
                                    "data": ["../shared/data/goemotions_train.csv.gz",
                                             "../shared/data/goemotions_dev.csv.gz",
                                             "../shared/data/goemotions_test.csv.gz"]})
    full, dev, test = load("goemotions_train"), load("goemotions_dev"), load("goemotions_test")
    if quick:
        test = test.iloc[:200].reset_index(drop=True)
    train_df = (full.sample(n=train_rows, random_state=0) if train_rows else full)[[TEXT] + LABELS]
    # train.py refuses a label that is never 1; a small sample may miss a rare one (grief, pride, relief...):
    # swap in the first training row that has each missing label, so every label can be learnt.
    missing = [label for label in LABELS if train_df[label].sum() == 0]
    if missing:
        extra = full.loc[[full.index[full[label] == 1][0] for label in missing], [TEXT] + LABELS]
        train_df = pd.concat([train_df.iloc[:len(train_df) - len(extra)], extra])
        run.note(f"Swapped in one row each for labels missing from the sample: {', '.join(missing)}.")
    train_df = train_df.reset_index(drop=True)
    val_df = dev.iloc[:val_rows][[TEXT] + LABELS].reset_index(drop=True)
    test_texts, y_test = test[TEXT].tolist(), test[LABELS].to_numpy(int)
    log(f"GoEmotions: {len(train_df):,} train, {len(val_df):,} validation (dev), test {len(test):,}")
    steps = Steps({"TF-IDF+LR": 60, "product": 150 + len(train_df) * (epochs or 2) / (60 if quick else 35)
                   + len(test) / 100, "TF-IDF+LR on all": 120})
    models = {}

    def baseline(key, frame):
        r, rss, _ = isolated(baselines.tfidf_logreg, frame[TEXT].tolist(), frame[LABELS].to_numpy(int), test_texts,
                             multilabel=True)
        models[key] = {**multilabel_scores(y_test, np.asarray(r["pred"])), "peak_rss_mb": rss, "train_rows": len(frame),
                       **{k: r[k] for k in ("train_s", "eval_s", "settings")}}

    steps.start("TF-IDF+LR")
    baseline("tfidf_logreg_ovr", baselines.rows_the_product_saw(train_df, val_df))
    steps.finish("TF-IDF+LR")
    steps.start("product")
    r, rss, _ = isolated(bert.train_and_score, "goemotions-quick" if quick else "goemotions", train_df, val_df, TEXT,
                         LABELS, test_texts, epochs=epochs, maxlen=maxlen, lr=lr)
    models["product"] = {**multilabel_scores(y_test, bert.multilabel_predictions(r, LABELS)), "peak_rss_mb": rss,
                              "train_rows": len(train_df), **bert.timing_summary(r)}
    if "bert" in r["member_probabilities"] and r["classifier"] != "bert":
        models["product_bert_member"] = {
            **multilabel_scores(y_test, bert.multilabel_predictions(r, LABELS, member="bert")),
            "train_rows": len(train_df)}
    steps.finish("product")
    if train_rows and not quick:
        steps.start("TF-IDF+LR on all")
        baseline("tfidf_logreg_ovr_all_train", baselines.rows_the_product_saw(full, val_df))
        steps.finish("TF-IDF+LR on all")
    run.results.update({"split": {"train": len(train_df), "validation": len(val_df), "test": len(test),
                                  "train_subset_of_43410": bool(train_rows)}, "models": models})
    for key, name in [("product", bert.product_name(models["product"]) + " (multi-label)"),
                      ("product_bert_member", "  its BERT member alone"),
                      ("tfidf_logreg_ovr", "TF-IDF 1-2g + LR, one-vs-rest"),
                      ("tfidf_logreg_ovr_all_train", "TF-IDF 1-2g + LR, one-vs-rest")]:
        if key not in models:
            continue
        m = models[key]
        if key == "product_bert_member":
            run.row(name, f"GoEmotions-28: train {m['train_rows']:,} / test {len(test):,}",
                    f"micro-F1 {m['micro_f1']:.4f}, macro-F1 {m['macro_f1']:.4f}", "(scored with the product)")
            continue
        speed = speed_cell(m, m["train_rows"], len(test))
        subset = " (subset)" if m["train_rows"] < len(full) else ""
        run.row(name, f"GoEmotions-28: train {m['train_rows']:,}{subset} / test {len(test):,}",
                f"micro-F1 {m['micro_f1']:.4f}, macro-F1 {m['macro_f1']:.4f}", speed,
                f"{m['peak_rss_mb'] / 1024:.2f} GB")
    if train_rows and not quick:
        run.note(f"The product was trained on a seeded random subset of {train_rows:,} of the 43,410 training rows "
                 "(time limit); the baseline on the same subset and on all rows.")
    run.note("Equal rows: the dev rows train.py gets as --val-data are training rows for the baseline too.")
    run.note("Threshold 0.5 for every label and every model (train.py's and the app's default); no per-label tuning, "
             "which is what lifts published GoEmotions macro-F1 figures.")
    run.finish()


if __name__ == "__main__":
    main()
