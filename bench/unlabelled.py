"""Learning from reviews nobody labelled (issue 20): train.py --unlabelled on IMDB, 500 labels and 20,000 reviews.

    python -m bench.unlabelled           # 500 labelled rows + 20,000 unlabelled (about 15 min on 2 cores)
    python -m bench.unlabelled --quick   # 100 labelled + 400 unlabelled, 1 epoch, maxlen 64, fixed lr: a smoke check

The labelled rows are bench.lowdata's 500 (stratified, seed 0; 10% of them as train.py's --val-data), so the model
trained on them alone is lowdata.json's (test rows) and defaults.json's (dev rows). The unlabelled file holds 20,000
other imdb_train reviews (seed 0) with their labels dropped; none is a dev row. One train.py run, then:
- dev rows (bench.defaults': imdb_train rows no sample holds) are where the method and its share were chosen;
- the first 5,000 imdb_test rows (bench.lowdata's) are scored once, after everything was chosen.
train.py's wall time is the time the issue bounds (60 minutes on 2 cores).
"""
import json

import predictor  # noqa: F401  (before TensorFlow)
from predictor import model_folder
from bench import bert
from bench.common import RESULTS, Run, Steps, isolated, load, log, parser, single_label_scores, split_validation, \
    stratified_sample
from bench.imdb import LABEL, SAMPLE_SEED, SPLIT_SEED, TEXT, VAL_FRACTION

LABELLED, UNLABELLED, DEV_ROWS, TEST_ROWS = 500, 20_000, 2000, 5000
POOL_SEED = 0
GOAL = {"accuracy": 0.89, "train_minutes": 60}


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--unlabelled-rows", type=int, help=f"unlabelled reviews (default: {UNLABELLED:,})")
    args = p.parse_args(argv)
    quick = args.quick
    labelled, pool_rows = (100, 400) if quick else (LABELLED, args.unlabelled_rows or UNLABELLED)
    dev_rows, test_rows = (100, 100) if quick else (DEV_ROWS, TEST_ROWS)
    epochs, maxlen, lr = (1, 64, 5e-5) if quick else (None, None, None)  # None: train.py's own choice
    run = Run("unlabelled", quick, {
        "labelled": labelled, "unlabelled": pool_rows, "dev_rows": dev_rows, "test_rows": test_rows,
        "epochs": epochs or "auto (train.py)", "maxlen": maxlen or "auto (train.py)",
        "lr": lr or "auto (train.py lr_find)", "val_fraction": VAL_FRACTION, "sample_seed": SAMPLE_SEED,
        "split_seed": SPLIT_SEED, "pool_seed": POOL_SEED,
        "data": ["../shared/data/imdb_train.csv.gz", "../shared/data/imdb_test.csv.gz"]})
    full, test = load("imdb_train"), load("imdb_test").iloc[:test_rows].reset_index(drop=True)
    chosen, pool, dev = labelled_pool_and_dev(full, labelled, pool_rows, dev_rows)
    train_df, val_df = split_validation(chosen, LABEL, VAL_FRACTION, SPLIT_SEED)
    pool_file = bert.TMP / "unlabelled-pool.csv"
    pool_file.parent.mkdir(parents=True, exist_ok=True)
    pool[[TEXT]].to_csv(pool_file, index=False)  # the labels dropped
    log(f"{len(train_df)} train + {len(val_df)} validation rows, {len(pool):,} unlabelled reviews; scored on "
        f"{len(dev):,} dev and {len(test):,} test rows")
    steps = Steps({"train.py --unlabelled": 60 * 13 if not quick else 90, "score": (dev_rows + test_rows) / 40})
    steps.start("train.py --unlabelled")
    texts = dev[TEXT].tolist() + test[TEXT].tolist()
    result, _, _ = isolated(bert.train_and_score, "unlabelled", train_df, val_df, TEXT, [LABEL], texts, epochs=epochs,
                            maxlen=maxlen, lr=lr, seed=SPLIT_SEED, unlabelled=pool_file)
    steps.finish("train.py --unlabelled")
    split = {"dev": slice(0, len(dev)), "test": slice(len(dev), None)}
    truth = {"dev": dev[LABEL].tolist(), "test": test[LABEL].tolist()}
    scores = {}
    for rows, where in split.items():
        scores[rows] = {"hybrid": single_label_scores(truth[rows], bert.single_label_predictions(result)[where])}
        for member in ("bert", "nbsvm"):
            scores[rows][f"{member} alone"] = single_label_scores(
                truth[rows], bert.single_label_predictions(result, member)[where])
    learnt = model_folder.read(result["model_dir"]).record.self_training
    minutes = result["train_s"] / 60
    run.results.update({
        "scores": scores, "train_minutes": round(minutes, 1), "durations_s": result["durations_s"],
        "self_training": learnt, "epochs": result["epochs"], "maxlen": result["maxlen"],
        "bert_weight": result["bert_weight"], "lr": result["lr"], "rows": result["rows"],
        "without_unlabelled": without_unlabelled(quick),
        "goal": GOAL, "goal_met": {"accuracy": scores["test"]["hybrid"]["accuracy"] >= GOAL["accuracy"],
                                   "train_minutes": minutes <= GOAL["train_minutes"]}})
    for rows in ("dev", "test"):
        for name, s in scores[rows].items():
            run.row(f"train.py --unlabelled: {name}", f"{labelled} labels + {len(pool):,} unlabelled / {rows} "
                    f"{len(truth[rows]):,}", f"acc {s['accuracy']:.4f}", f"train {minutes:.0f} min")
    run.note("The same 500 labelled rows alone: lowdata.json (test rows) and defaults.json (dev rows), one sample and "
             "one seed each, so a gap under a point is within noise.")
    run.finish()


def labelled_pool_and_dev(full, labelled, pool_rows, dev_rows):
    """bench.lowdata's labelled sample; bench.defaults' dev rows (outside every sample bench.lowdata and bench.defaults
    draw); and `pool_rows` other rows (seed POOL_SEED) whose label is kept only as `true_label`, for the benchmark."""
    chosen = stratified_sample(full, LABEL, labelled, SAMPLE_SEED)
    used = set().union(*(stratified_sample(full, LABEL, n, SAMPLE_SEED)[TEXT] for n in {500, 1000, 2000, labelled}))
    dev = full[~full[TEXT].isin(used)].iloc[:dev_rows].reset_index(drop=True)
    others = full[~full[TEXT].isin(set(chosen[TEXT]) | set(dev[TEXT]))]
    pool = others.sample(pool_rows, random_state=POOL_SEED).reset_index(drop=True)
    return chosen, pool[[TEXT]].assign(true_label=pool[LABEL]), dev


def without_unlabelled(quick):
    """The same labelled rows without --unlabelled, from the results files that trained on them."""
    if quick:
        return {}
    lowdata = json.loads((RESULTS / "lowdata.json").read_text())["results"]["curve"]["500"]
    defaults = json.loads((RESULTS / "defaults.json").read_text())["results"]["sizes"]["500"]["on_dev"]
    return {"test": {"hybrid": lowdata["product"]["accuracy"], "bert alone": lowdata["product_bert_member"]["accuracy"],
                     "source": "lowdata.json"},
            "dev": {"hybrid": defaults["hybrid (windows)"]["accuracy"],
                    "bert alone": defaults["BERT alone (windows)"]["accuracy"],
                    "nbsvm alone": defaults["NBSVM alone"]["accuracy"], "source": "defaults.json"}}


if __name__ == "__main__":
    main()
