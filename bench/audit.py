"""The label audit (predictor/audit.py) on IMDB: labels flipped at random, found again?

    python -m bench.audit            # 2,000 training rows, 5% flipped, through train.py (about 15 min on 2 cores)
    python -m bench.audit --quick    # 300 rows, 1 epoch, maxlen 64, fixed lr

2,000 IMDB training rows (a stratified sample, seed 0) with the labels of 5% of them (100, seed 0) swapped for the
other class are handed to train.py as its data, as an analyst's file; train.py holds out its own validation rows
and audits every row of the file. Read from label_issues.csv (issue 20's goals): the precision of the 100 rows
ranked first (how many of them were flipped), the recall of the flipped rows in the whole list, and the audit's share
of train.py's time. IMDB's own labels are not perfect, so a row counted as a false alarm may be a real error.
Nothing here reads imdb_test.
"""
import time

import numpy as np

import predictor  # noqa: F401  (before TensorFlow)
from bench.common import TMP, Run, isolated, load, log, parser, stratified_sample
from bench.imdb import LABEL, SAMPLE_SEED, TEXT

ROWS = 2000
FLIP_SHARE = 0.05
TOP = 100
GOALS = {"precision_top_100": 0.7, "recall_whole_list": 0.5, "share_of_train_time": 0.25}


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--rows", type=int, help=f"training rows (default: {ROWS:,})")
    args = p.parse_args(argv)
    quick = args.quick
    n = args.rows or (300 if quick else ROWS)
    epochs, maxlen, lr = (1, 64, 5e-5) if quick else (None, None, None)
    run = Run("audit", quick, {"rows": n, "flip_share": FLIP_SHARE, "flip_seed": 0, "sample_seed": SAMPLE_SEED,
                               "epochs": epochs or "auto (train.py)", "maxlen": maxlen or "auto (train.py)",
                               "lr": lr or "auto (train.py lr_find)", "data": ["../shared/data/imdb_train.csv.gz"]})
    rows = stratified_sample(load("imdb_train"), LABEL, n, SAMPLE_SEED)[[TEXT, LABEL]]
    flipped = np.random.default_rng(0).choice(n, size=round(n * FLIP_SHARE), replace=False)
    other = {"pos": "neg", "neg": "pos"}  # imdb_train's labels
    rows.loc[flipped, LABEL] = rows.loc[flipped, LABEL].map(other)
    data = TMP / "audit" / "reviews.csv"
    data.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(data, index=False)
    is_flipped = set(flipped.tolist())
    log(f"{n:,} IMDB training rows, {len(flipped)} labels flipped; the audit's classifier and NBSVM, out of fold...")
    oof, _, _ = isolated(compare_classifiers, data)
    run.results["oof_models"] = {name: {**found_again(ranked, is_flipped), "seconds": seconds}
                                 for name, (ranked, seconds) in oof.items()}
    log("train.py on them...")
    found, _, seconds = isolated(train_and_read, data, epochs, maxlen, lr)
    ranked = [int(r) - 1 for r in found["rows"]]  # label_issues.csv numbers data rows from 1
    results = {
        "flipped": len(flipped), **found_again(ranked, is_flipped),
        "audit_s": found["audit_s"], "train_s": found["train_s"],
        "share_of_train_time": round(found["audit_s"] / (found["train_s"] - found["audit_s"]), 4),
        "label_audit": found["record"], "wall_s": round(seconds, 1)}
    run.results.update(results)
    run.results["goals"] = {name: {"goal": goal, "met": (results[name] <= goal if name == "share_of_train_time"
                                                         else results[name] >= goal)}
                            for name, goal in GOALS.items()}
    for name, goal in GOALS.items():
        met = run.results["goals"][name]["met"]
        run.row(f"label audit: {name.replace('_', ' ')}", f"IMDB {n:,} rows, {len(flipped)} flipped",
                f"{results[name]:.3f} (goal {'at most' if name == 'share_of_train_time' else 'at least'} {goal}; "
                f"{'met' if met else 'MISSED'})")
    run.note("The audit's share of train.py's time is its own step (durations_s.label_audit) over the rest of the "
             "run; train.py's time is the whole run, lr_find, BERT and NBSVM included.")
    run.finish()


def found_again(ranked, flipped):
    """How well a ranked list of rows (0-based) finds the flipped ones."""
    top = ranked[:TOP]
    return {"listed": len(ranked), "precision_top_100": round(sum(r in flipped for r in top) / max(1, len(top)), 4),
            "recall_whole_list": round(len(flipped & set(ranked)) / len(flipped), 4),
            "precision_whole_list": round(len(flipped & set(ranked)) / max(1, len(ranked)), 4)}


def compare_classifiers(data):
    """The audit as train.py runs it (markup handled, its folds and seed) with its classifier and with ktrain's NBSVM
    (train.py's member recipe): {name: (ranked rows, seconds)}."""
    import pandas as pd

    from predictor import audit, markup
    from predictor.training import DEFAULT_SEED, nbsvm_predictor

    rows = pd.read_csv(data)
    shown, labels = rows[TEXT].tolist(), rows[LABEL].tolist()
    texts = [markup.to_text(text, markup.HTML) for text in shown]
    classes = sorted(set(labels))

    def nbsvm(part, y):
        return nbsvm_predictor(part, y, classes, DEFAULT_SEED)

    out = {}
    for name, fit in [("tfidf+logreg (the audit's)", None), ("nbsvm (the member's recipe)", nbsvm)]:
        started = time.perf_counter()
        found = audit.run(texts, shown, list(range(1, len(texts) + 1)), labels, classes, DEFAULT_SEED, fit)
        out[name] = ([int(r) - 1 for r in found.issues["row"]], round(time.perf_counter() - started, 1))
    return out


def train_and_read(data, epochs, maxlen, lr):
    """train.py on `data` (in this process: isolated() runs it in its own); the ranked rows and the audit's cost."""
    from predictor import audit, model_folder
    from predictor.training import Settings, train

    started = time.perf_counter()
    out = train(Settings(data=data, text_column=TEXT, label_columns=[LABEL], epochs=epochs, maxlen=maxlen, lr=lr,
                         out=data.parent / "model", force=True), log=lambda line: log(f"train.py: {line}"))
    train_s = time.perf_counter() - started
    record = model_folder.read(out).record
    issues = audit.read(out)
    return {"rows": issues["row"].tolist(), "record": record.label_audit, "train_s": round(train_s, 1),
            "audit_s": record.durations_s["label_audit"]}


if __name__ == "__main__":
    main()
