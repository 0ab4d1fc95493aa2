"""A trained multi-label hybrid's members blended by each rule train.py has used, on the same validation rows, scored
on the test set: how much of a hybrid's test score is its blending rule (issue 8).

    python -m bench.reblend [--model DIR]   # default: the GoEmotions model bench.multilabel trained

The members are the model's own (BERT and the per-label NBSVMs, as saved), scored once on the validation rows
train.py chose the weights on and on the GoEmotions test set; only the weights differ. "per-label" was train.py's
rule in 2026-12-01's multilabel run; "cross-validated" (predictor.hybrid.cross_validated) is train.py's rule since.
"""
from pathlib import Path

from bench.common import TMP, Run, load, log, parser
from bench.multilabel import LABELS, TEXT


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--model", help="model folder (default: bench/results/tmp/goemotions/model)")
    args = p.parse_args(argv)
    import pandas as pd

    from predictor import hybrid, model_folder
    from predictor.models import load_model

    model_dir = Path(args.model or TMP / "goemotions" / "model")
    run = Run("reblend", args.quick, {"model": str(model_dir),
                                      "data": "goemotions_dev (first 1,000) / goemotions_test"})
    model = load_model(model_folder.read(model_dir), every_member=True)  # both, whatever weights train.py chose
    val = pd.read_csv(model_dir.parent / "val.csv")  # bench.multilabel's validation rows, beside its model
    test = load("goemotions_test")
    if args.quick:
        test = test.iloc[:200]
    members = {}
    for name, frame in [("validation", val), ("test", test)]:
        log(f"scoring the {len(frame):,} {name} rows")
        members[name] = model.score(frame[TEXT].astype(str).tolist()).members
    y_val, y_test = val[LABELS].to_numpy(int), test[LABELS].to_numpy(int)
    bert_val, nbsvm_val = members["validation"]["bert"], members["validation"]["nbsvm"]
    rules = {"BERT alone": [1.0] * len(LABELS), "NBSVM alone": [0.0] * len(LABELS),
             "per-label weights (the rule before)": hybrid.MULTILABEL_RULES["per_label"](y_val, bert_val, nbsvm_val),
             "one shared weight": hybrid.MULTILABEL_RULES["shared"](y_val, bert_val, nbsvm_val)}
    chosen, record = hybrid.cross_validated(y_val, bert_val, nbsvm_val)
    rules[f"cross-validated (train.py's rule; chose {record['chosen']})"] = chosen
    results = {}
    for name, weights in rules.items():
        scores = {split: hybrid._micro_f1(y, hybrid.combine(members[split]["bert"], members[split]["nbsvm"], weights))
                  for split, y in [("validation", y_val), ("test", y_test)]}
        results[name] = {**scores, "weights": [float(w) for w in weights]}
        log(f"{name}: validation {scores['validation']:.4f}, test {scores['test']:.4f}")
        run.row(f"GoEmotions hybrid's members blended by: {name}", f"validation {len(val):,} / test {len(test):,}",
                f"test micro-F1 {scores['test']:.4f} (validation {scores['validation']:.4f})", "")
    run.results.update({"rules": results, "cross_validation": record})
    run.finish()


if __name__ == "__main__":
    main()
