"""Multi-label: GoEmotions (28 labels) through train.py, beside one-vs-rest TF-IDF+LR.

    python -m bench.multilabel                      # all 43,410 training rows (about 50 min on 2 cores)
    python -m bench.multilabel --train-rows 8000    # a seeded random subset (labelled as such)
    python -m bench.multilabel --train-rows 21000 --epochs 3 --tag epochs3   # the epochs rule, judged on dev rows
    python -m bench.multilabel --quick              # 300 train rows, 200 test rows, 1 epoch, maxlen 32, fixed lr

train.py gets the 28 0/1 label columns (multi-label mode) and the first --val-rows rows of goemotions_dev as
--val-data. The baseline is trained on the same rows as the product and, for reference, on all 43,410 training rows;
it gives labels at 0.5, the product at the thresholds it chose on its validation rows (predictor/thresholds.py).

The product's rules (how the members are blended, where each label's threshold lies) are judged on the dev rows
train.py never saw (goemotions_dev after the first --val-rows): each candidate rule is fitted on the validation rows
as train.py fits it and scored there, beside the one train.py's cross-validation chose. Test rows decide nothing;
they are scored once, at the end.
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
    p.add_argument("--dev-rows", type=int, help="dev rows after the validation rows, on which the product's rules are "
                                                "judged (default: all the rest, 4,426)")
    p.add_argument("--tag", help="write bench/results/multilabel-TAG.json instead of multilabel.json: a variant "
                                 "such as --epochs 3 must not replace the default run")
    args = p.parse_args(argv)
    quick = args.quick
    train_rows = args.train_rows or (300 if quick else None)
    val_rows = args.val_rows or (100 if quick else 1000)
    epochs = args.epochs or (1 if quick else None)  # None: train.py's automatic choice
    maxlen, lr = (32, 5e-5) if quick else (None, None)
    name = f"multilabel-{args.tag}" if args.tag else "multilabel"
    run = Run(name, quick, {"train_rows": train_rows or "all", "val_rows": val_rows,
                        "epochs": epochs or "auto (train.py)",
                        "maxlen": maxlen or "auto (train.py)", "lr": lr or "auto (train.py lr_find)",
                        "thresholds": "product: its own, chosen on validation; baseline: 0.5",
                        "dev_rows": args.dev_rows or ("rest" if not quick else 300), "sample_seed": 0,
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
    held = dev.iloc[val_rows:val_rows + (args.dev_rows or (300 if quick else len(dev)))].reset_index(drop=True)
    test_texts, y_test = test[TEXT].tolist(), test[LABELS].to_numpy(int)
    log(f"GoEmotions: {len(train_df):,} train, {len(val_df):,} validation (dev), {len(held):,} dev rows to judge "
        f"the rules on, test {len(test):,}")
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
    # One scoring pass over validation, held-out dev and test rows; split apart below.
    scored_texts = val_df[TEXT].tolist() + held[TEXT].tolist() + test_texts
    r, rss, _ = isolated(bert.train_and_score, "goemotions-quick" if quick else "goemotions", train_df, val_df, TEXT,
                         LABELS, scored_texts, epochs=epochs, maxlen=maxlen, lr=lr)
    parts = split(r, {"validation": len(val_df), "dev": len(held), "test": len(test)})
    rules = rules_on_dev(parts, val_df[LABELS].to_numpy(int), held[LABELS].to_numpy(int))
    r = parts["test"]
    models["product"] = {**multilabel_scores(y_test, bert.multilabel_predictions(r, LABELS)), "peak_rss_mb": rss,
                              "train_rows": len(train_df), **bert.timing_summary(r),
                              "scored_rows": len(scored_texts)}  # eval_s covers validation, dev and test rows
    models["product_at_default_threshold"] = {  # the same probabilities, 0.5 for every label: what thresholds add
        **multilabel_scores(y_test, bert.multilabel_predictions({**r, "thresholds": []}, LABELS)),
        "train_rows": len(train_df)}
    if "bert" in r["member_probabilities"] and r["classifier"] != "bert":
        models["product_bert_member"] = {
            **multilabel_scores(y_test, bert.multilabel_predictions(r, LABELS, member="bert")),
            "train_rows": len(train_df)}
    steps.finish("product")
    if train_rows and not quick:
        steps.start("TF-IDF+LR on all")
        baseline("tfidf_logreg_ovr_all_train", baselines.rows_the_product_saw(full, val_df))
        steps.finish("TF-IDF+LR on all")
    run.results.update({"split": {"train": len(train_df), "validation": len(val_df), "dev_held_out": len(held),
                                  "test": len(test), "train_subset_of_43410": bool(train_rows)},
                        "rules_on_dev": rules, "models": models})
    for kind in ("blend", "thresholds"):
        table = rules[kind]
        if table:
            run.row(f"  rule: {kind}, as train.py chose: {table['chosen_by_train_py']}", f"GoEmotions dev rows "
                    f"{len(held):,} (not used by train.py)", "; ".join(f"{name} micro-F1 {v['micro_f1']:.4f} / macro "
                                                                      f"{v['macro_f1']:.4f}"
                                                                      for name, v in table["on_dev"].items()),
                    f"best on dev: {table['best_on_dev']}")
    for key, name in [("product", bert.product_name(models["product"]) + " (multi-label)"),
                      ("product_at_default_threshold", "  the same model, 0.5 for every label"),
                      ("product_bert_member", "  its BERT member alone"),
                      ("tfidf_logreg_ovr", "TF-IDF 1-2g + LR, one-vs-rest"),
                      ("tfidf_logreg_ovr_all_train", "TF-IDF 1-2g + LR, one-vs-rest")]:
        if key not in models:
            continue
        m = models[key]
        if key in ("product_bert_member", "product_at_default_threshold"):
            run.row(name, f"GoEmotions-28: train {m['train_rows']:,} / test {len(test):,}",
                    f"micro-F1 {m['micro_f1']:.4f}, macro-F1 {m['macro_f1']:.4f}", "(scored with the product)")
            continue
        speed = speed_cell(m, m["train_rows"], m.get("scored_rows", len(test)))
        subset = " (subset)" if m["train_rows"] < len(full) else ""
        run.row(name, f"GoEmotions-28: train {m['train_rows']:,}{subset} / test {len(test):,}",
                f"micro-F1 {m['micro_f1']:.4f}, macro-F1 {m['macro_f1']:.4f}", speed,
                f"{m['peak_rss_mb'] / 1024:.2f} GB")
    if train_rows and not quick:
        run.note(f"The product was trained on a seeded random subset of {train_rows:,} of the 43,410 training rows "
                 "(time limit); the baseline on the same subset and on all rows.")
    run.note("Equal rows: the dev rows train.py gets as --val-data are training rows for the baseline too.")
    run.note("Unequal by design: the product gives labels at the thresholds it chose on its validation rows "
             "(per label or shared, predictor/thresholds.py), the baseline at 0.5 for every label; its BERT member "
             "is shown at 0.5 too.")
    run.note("The product's rules were judged on goemotions_dev rows train.py never saw ('rule' rows); the test rows "
             "were scored once, after.")
    run.finish()


def split(result, sizes):
    """The product's result over consecutive row blocks (validation, dev, test) as one result per block."""
    parts, start = {}, 0
    for name, size in sizes.items():
        window = slice(start, start + size)
        parts[name] = {**result, "probabilities": np.asarray(result["probabilities"])[window],
                       "member_probabilities": {k: np.asarray(v)[window]
                                                for k, v in result["member_probabilities"].items()}}
        start += size
    return parts


def rules_on_dev(parts, y_val, y_dev):
    """Each candidate blend rule and threshold rule, fitted on the validation rows as train.py fits it, scored
    (micro/macro-F1) on dev rows train.py never saw; beside the one train.py chose by cross-validation."""
    from predictor import hybrid, thresholds

    order = [parts["validation"]["classes"].index(label) for label in LABELS]  # columns in LABELS' order
    val, dev = parts["validation"], parts["dev"]

    def scores(y, probabilities, bars):
        return multilabel_scores(y, (probabilities >= bars).astype(int))

    out = {"blend": {}, "thresholds": {}}
    members = {kind: (val["member_probabilities"][kind][:, order], dev["member_probabilities"][kind][:, order])
               for kind in ("bert", "nbsvm") if kind in val["member_probabilities"]}
    if len(members) == 2 and len(y_dev):
        (bert_val, bert_dev), (nbsvm_val, nbsvm_dev) = members["bert"], members["nbsvm"]
        on_dev = {name: scores(y_dev, hybrid.combine(bert_dev, nbsvm_dev, fit(y_val, bert_val, nbsvm_val)),
                               thresholds.DEFAULT) for name, fit in hybrid.MULTILABEL_RULES.items()}
        out["blend"] = {"on_dev": on_dev, "at": "0.5, where train.py chooses the blend",
                        "chosen_by_train_py": parts["test"]["combination"].get("chosen"),
                        "best_on_dev": max(on_dev, key=lambda name: on_dev[name]["micro_f1"])}
    if len(y_dev):
        p_val, p_dev = val["probabilities"][:, order], dev["probabilities"][:, order]
        on_dev = {rule: scores(y_dev, p_dev, thresholds.fit(rule, y_val, p_val)) for rule in thresholds.RULES}
        out["thresholds"] = {"on_dev": on_dev, "of": "the model's calibrated probabilities",
                             "chosen_by_train_py": parts["test"]["threshold_choice"].get("chosen"),
                             "best_on_dev": max(on_dev, key=lambda rule: on_dev[rule]["micro_f1"])}
    return out


if __name__ == "__main__":
    main()
