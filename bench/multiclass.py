"""Multi-class: TREC question classification (6 coarse classes) through train.py, beside TF-IDF+LR and NBSVM.

    python -m bench.multiclass           # trec_train (5,452; 10% stratified is train.py's --val-data)
                                         # -> trec_test (500)
    python -m bench.multiclass --quick   # 300 train rows, 100 test rows, 1 epoch, maxlen 32, fixed lr

Product at train.py's defaults (4 epochs, lr auto, maxlen auto). All models train on the same 90% of trec_train.
"""
import predictor  # noqa: F401  (before TensorFlow)
from bench import baselines, bert
from bench.common import (speed_cell, Run, Steps, isolated, load, log, parser, single_label_scores, split_validation,
                          stratified_sample)

TEXT, LABEL = "text", "label"


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--train-rows", type=int, help="stratified subset of trec_train (default: all)")
    p.add_argument("--epochs", type=int, help="product epochs (default: train.py's, 4)")
    args = p.parse_args(argv)
    quick = args.quick
    train_rows = args.train_rows or (300 if quick else None)
    epochs = args.epochs or (1 if quick else None)  # None: train.py's automatic choice
    maxlen, lr = (32, 5e-5) if quick else (None, None)
    run = Run("multiclass", quick, {"train_rows": train_rows or "all", "epochs": epochs or "auto (train.py)",
                                    "maxlen": maxlen or "auto (train.py)", "lr": lr or "auto (train.py lr_find)",
                                    "val_fraction": 0.1, "seeds": {"sample": 0, "split": 42},
                                    "data": ["../shared/data/trec_train.csv.gz", "../shared/data/trec_test.csv.gz"]})
    full, test = load("trec_train"), load("trec_test")
    if quick:
        test = test.iloc[:100].reset_index(drop=True)
    chosen = stratified_sample(full, LABEL, train_rows, 0) if train_rows else full
    train_df, val_df = split_validation(chosen, LABEL, 0.1, 42)
    test_texts, y_test = test[TEXT].tolist(), test[LABEL].tolist()
    log(f"TREC: {len(train_df):,} train + {len(val_df)} validation, test {len(test)}")
    steps = Steps({"TF-IDF+LR": 10, "NBSVM": 60,
                   "product": 150 + len(train_df) * (epochs or 2) / (60 if quick else 40)})
    models = {}
    seen = baselines.rows_the_product_saw(train_df, val_df)
    steps.start("TF-IDF+LR")
    r, rss, _ = isolated(baselines.tfidf_logreg, seen[TEXT].tolist(), seen[LABEL].tolist(), test_texts)
    models["tfidf_logreg"] = {**single_label_scores(y_test, r["pred"]), "peak_rss_mb": rss,
                              **{k: r[k] for k in ("train_s", "eval_s", "settings")}}
    steps.finish("TF-IDF+LR")
    steps.start("NBSVM")
    r, rss, _ = isolated(baselines.nbsvm, seen[TEXT].tolist(), seen[LABEL].tolist(), test_texts)
    models["nbsvm"] = {**single_label_scores(y_test, r["pred"]), "peak_rss_mb": rss,
                       **{k: r[k] for k in ("train_s", "eval_s", "settings")}}
    steps.finish("NBSVM")
    steps.start("product")
    r, rss, _ = isolated(bert.train_and_score, "trec-quick" if quick else "trec", train_df, val_df, TEXT, [LABEL],
                         test_texts, epochs=epochs, maxlen=maxlen, lr=lr)
    models["product"] = {**single_label_scores(y_test, bert.single_label_predictions(r)), "peak_rss_mb": rss,
                         **bert.timing_summary(r), "test_calibration": bert.test_calibration(r, y_test)}
    if "bert" in r["member_probabilities"] and r["classifier"] != "bert":
        models["product_bert_member"] = single_label_scores(y_test, bert.single_label_predictions(r, "bert"))
    steps.finish("product")
    run.results.update({"split": {"train": len(train_df), "validation": len(val_df), "test": len(test)},
                        "models": models})
    data = f"TREC-6: train {len(seen):,} (product: {len(train_df):,} + {len(val_df)} val) / test {len(test)}"
    for key, name in [("product", bert.product_name(models["product"])), ("tfidf_logreg", "TF-IDF 1-2g + LR"),
                      ("nbsvm", "ktrain NBSVM (1-3g)")]:
        m = models[key]
        speed = speed_cell(m, len(seen), len(test))
        run.row(name, data, f"acc {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}", speed,
                f"{m['peak_rss_mb'] / 1024:.2f} GB")
        if key == "product" and "product_bert_member" in models:
            member = models["product_bert_member"]
            run.row("  its BERT member alone", data, f"acc {member['accuracy']:.4f}, macro-F1 {member['macro_f1']:.4f}",
                    "(scored with the product)")
    run.note("All models see the same rows: a stratified 10% of them is train.py's --val-data, the baselines train "
             "on all of them. TREC's texts keep the original tokenisation (e.g. \"What 's\").")
    run.finish()


if __name__ == "__main__":
    main()
