"""How far apart BERT's windows should be: one trained IMDB model scored over windows with several overlaps, on
validation rows (where the default is chosen) and then, once, on test rows (where it is checked).

    python -m bench.overlap                       # trains a model on 5,000 IMDB training rows (1 epoch), chooses on
                                                  # 2,500 other training rows, checks on the 25,000 test reviews
    python -m bench.overlap --model DIR --val-csv FILE [--test-rows N]   # an existing model and its validation rows
    python -m bench.overlap --quick               # 300 / 200 / 200 rows: a smoke check

Windows that share half their pieces (the reading since issue 8) read every piece of a long review twice; windows
that share none read it once, for about half the work. The rule: the cheapest overlap whose validation accuracy is
within TOLERANCE of the best overlap's. Only training rows are used to choose; the test rows are read after the
choice, to report what it cost (the goal: at most 0.1 points of test accuracy).
"""
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

import predictor  # noqa: F401  (before TensorFlow)
from bench.common import TMP, Run, load, log, parser, single_label_scores, split_validation, stratified_sample
from bench.imdb import LABEL, TEXT

OVERLAPS = [0.5, 0.25, 0.0]  # half (the reading until now), a quarter, none
TOLERANCE = 0.001  # validation accuracy an overlap may lose against the best one and still be chosen
TRAIN_ROWS, VAL_ROWS = 5000, 2500
SAMPLE_SEED = 1  # not bench.imdb's rows: this model and its validation rows are training rows of their own


def train_model(quick):
    """A model through train.py's own path on TRAIN_ROWS IMDB training rows, with VAL_ROWS others as --val-data."""
    from predictor.training import Settings, train

    rows = stratified_sample(load("imdb_train"), LABEL, 500 if quick else TRAIN_ROWS + VAL_ROWS, SAMPLE_SEED)
    train_df, val_df = split_validation(rows, LABEL, 200 / 500 if quick else VAL_ROWS / len(rows), 42)
    folder = TMP / ("overlap-quick" if quick else "overlap")
    folder.mkdir(parents=True, exist_ok=True)
    train_df.to_csv(folder / "train.csv", index=False)
    val_df.to_csv(folder / "val.csv", index=False)
    out = train(Settings(data=folder / "train.csv", text_column=TEXT, label_columns=[LABEL],
                         val_data=folder / "val.csv", epochs=1, maxlen=64 if quick else None, out=folder / "model",
                         force=True), log=lambda line: log(f"train.py: {line}"))
    return out, folder / "val.csv"


def accuracy_by_overlap(model_dir, texts, labels):
    """{overlap: (accuracy, windows, seconds)} for the saved model as it scores, with only the overlap changed."""
    from predictor import model_folder, models

    info = model_folder.read(model_dir)
    found = {}
    for overlap in OVERLAPS:
        model = models.load_model(replace(info, record=replace(info.record, window_overlap=overlap)))
        started = time.perf_counter()
        probabilities = np.concatenate([model.score(texts[i:i + 256]).probabilities for i in range(0, len(texts), 256)])
        seconds = time.perf_counter() - started
        windows = sum(len(model.bert.encode(t).ids) for t in texts) if model.bert else 0
        predicted = [info.classes[i] for i in probabilities.argmax(axis=1)]
        found[overlap] = {**single_label_scores(labels, predicted), "windows": windows, "seconds": round(seconds, 1)}
        log(f"overlap {overlap}: {found[overlap]}")
    return found


def choose(validation):
    """The cheapest overlap within TOLERANCE of the best validation accuracy."""
    best = max(v["accuracy"] for v in validation.values())
    return min((o for o, v in validation.items() if v["accuracy"] >= best - TOLERANCE),
               key=lambda o: validation[o]["windows"])


def main(argv=None):
    import pandas as pd

    p = parser(__doc__)
    p.add_argument("--model", type=Path, help="a trained model folder (default: train one)")
    p.add_argument("--val-csv", type=Path, help="its validation rows (review, sentiment); needed with --model")
    p.add_argument("--test-rows", type=int, help="first N rows of imdb_test (default: all 25,000; quick: 200)")
    p.add_argument("--tag", help="results file bench/results/overlap-TAG.json (default: overlap.json)")
    args = p.parse_args(argv)
    run = Run("overlap" + (f"-{args.tag}" if args.tag else ""), args.quick,
                                     {"overlaps": OVERLAPS, "tolerance": TOLERANCE,
                                      "model": str(args.model) if args.model else
                                      f"trained here: {TRAIN_ROWS} IMDB training rows, 1 epoch, train.py defaults",
                                      "validation": str(args.val_csv) if args.val_csv else
                                      f"{VAL_ROWS} other IMDB training rows (stratified, seed {SAMPLE_SEED})"})
    if args.model:
        model_dir, val_csv = args.model, args.val_csv
    else:
        model_dir, val_csv = train_model(args.quick)
    val = pd.read_csv(val_csv)
    validation = accuracy_by_overlap(model_dir, val[TEXT].astype(str).tolist(), val[LABEL].astype(str).tolist())
    chosen = choose(validation)
    log(f"chosen on validation: overlap {chosen}")
    test = load("imdb_test").iloc[:args.test_rows or (200 if args.quick else 25000)]
    tested = accuracy_by_overlap(model_dir, test[TEXT].astype(str).tolist(), test[LABEL].astype(str).tolist())
    loss = tested[0.5]["accuracy"] - tested[chosen]["accuracy"]
    run.results.update({"model_dir": str(model_dir), "validation": validation, "chosen": chosen, "test": tested,
                        "test_accuracy_lost_against_half_overlap": round(loss, 4)})
    for overlap in OVERLAPS:
        v, t = validation[overlap], tested[overlap]
        run.row(f"windows sharing {overlap:.0%} of their pieces" + (" (chosen on validation)" if overlap == chosen
                                                                     else ""),
                f"validation {len(val):,} / test {len(test):,} IMDB reviews",
                f"val acc {v['accuracy']:.4f}, test acc {t['accuracy']:.4f}",
                f"{t['windows'] / len(test):.2f} windows per test review; {len(test) / t['seconds']:.1f} reviews/s")
    run.note("Chosen on validation rows only (training rows of imdb_train); the test rows were scored after the "
             f"choice. Against half overlap, the chosen overlap changes test accuracy by {-loss:+.4f}.")
    run.finish()


if __name__ == "__main__":
    main()
