"""How many batches lr_find needs on small data: train.py's own learning-rate step at several batch budgets and
seeds, on training rows only, recording lr_find's suggestion and the rate train.py would use.

    python -m bench.lr_budget           # the bundled sample and 300-row samples of IMDB and TREC training rows,
                                        # budgets 16 / 20 / 32 / 64 batches, seeds 42 / 43 / 44
    python -m bench.lr_budget --quick   # the sample only, budgets 16 and 64, one seed

train.py sweeps at most half the batches its fit will run (at least 16, at most 64: predictor/training/learning_rate.py
lr_find_batches); before, every run swept 64. A rate is used only inside LR_BAND, where bench/results/lr_sweep.json
found MiniLM trains well; elsewhere train.py falls back to 1e-4. This benchmark shows what a smaller budget does to
lr_find's suggestion and to the rate used. No validation or test row is read.
"""
import math
from pathlib import Path

import predictor  # noqa: F401  (before TensorFlow)
from bench.common import REPO, TMP, Run, isolated, load, log, parser, stratified_sample

BUDGETS = [16, 20, 32, 64]
SEEDS = [42, 43, 44]
ROWS = 300


def datasets(quick):
    """name -> (csv path, text column, label column); written under bench/results/tmp/lr_budget."""
    folder = TMP / "lr_budget"
    folder.mkdir(parents=True, exist_ok=True)
    found = {"sample": (REPO / "data" / "sample_reviews.csv", "review", "sentiment")}
    if not quick:
        for name, label, text in [("imdb_train", "sentiment", "review"), ("trec_train", "label", "text")]:
            path = folder / f"{name}-{ROWS}.csv"
            stratified_sample(load(name), label, ROWS, 0)[[text, label]].to_csv(path, index=False)
            found[f"{name.split('_')[0]} {ROWS} rows"] = (path, text, label)
    return found


def suggestion(data, text, label, budget, seed):
    """Runs in its own process: train.py's plan for the data, then its lr_find at `budget` batches."""
    import tempfile

    from predictor import dataset, training
    from predictor.bert.tokenizer import WordPieces

    settings = training.Settings(data=Path(data), text_column=text, label_columns=[label], seed=seed)
    labelled = training.read_labelled(settings)
    plan = training.make_plan(settings, labelled.train)
    trn, preproc, model = training.build_classifier(labelled.train, labelled.val, plan, seed)
    tokenizer = WordPieces.of_preprocessor(preproc)
    (_, segments), y = trn
    trn = ([tokenizer.training_ids(labelled.train.frame[dataset.TEXT], plan.maxlen, settings.reading), segments], y)
    with training.private_temp_files():
        lr = training.find_learning_rate(model, trn, plan.batch_size, budget, seed, Path(tempfile.mkdtemp()))
    fit_batches = plan.epochs * math.ceil(len(y) / plan.batch_size)
    return {"suggested": lr["estimates"]["min_loss_div_10"], "used": lr["chosen"], "source": lr["source"],
            "batches_run": lr["batches"], "fit_batches": fit_batches, "maxlen": plan.maxlen, "epochs": plan.epochs,
            "train_rows": len(y), "train_py_budget": training.lr_find_batches(len(y), plan.batch_size, plan.epochs)}


def main(argv=None):
    from predictor.training import LR_BAND

    args = parser(__doc__).parse_args(argv)
    budgets, seeds = ([16, 64], [42]) if args.quick else (BUDGETS, SEEDS)
    run = Run("lr_budget", args.quick, {"budgets": budgets, "seeds": seeds, "rows": ROWS, "band": LR_BAND})
    results = {}
    for name, (path, text, label) in datasets(args.quick).items():
        for budget in budgets:
            for seed in seeds:
                found, _, seconds = isolated(suggestion, str(path), text, label, budget, seed)
                found["seconds"] = seconds
                results.setdefault(name, {}).setdefault(str(budget), {})[str(seed)] = found
                log(f"{name}, {budget} batches, seed {seed}: suggested {found['suggested']}, used "
                    f"{found['used']:.1e} ({found['source']}), {seconds:.0f} s")
    run.results["runs"] = results
    for name, by_budget in results.items():
        for budget, by_seed in by_budget.items():
            runs = list(by_seed.values())
            inside = sum(LR_BAND[0] <= r["suggested"] <= LR_BAND[1] for r in runs if r["suggested"] is not None)
            used = sorted({f"{r['used']:.1e}" for r in runs})
            suggested = ", ".join("none" if r["suggested"] is None else f"{r['suggested']:.1e}" for r in runs)
            ours = " (train.py's budget)" if int(budget) == runs[0]["train_py_budget"] else ""
            run.row(f"lr_find at {budget} batches" + ours,
                    f"{name}: {runs[0]['train_rows']} train rows, maxlen {runs[0]['maxlen']}, fit "
                    f"{runs[0]['fit_batches']} batches",
                    f"suggestions {suggested}; {inside}/{len(runs)} inside "
                    f"{LR_BAND[0]:.0e}..{LR_BAND[1]:.0e}; rate used {' / '.join(used)}",
                    f"{sum(r['seconds'] for r in runs) / len(runs):.0f} s a run (process start to estimate)")
    run.note("Every rate used is inside the band or the fallback 1e-4, by train.py's rule; the budget only decides how "
             "often lr_find's own suggestion is inside it, and what the sweep costs.")
    run.finish()


if __name__ == "__main__":
    main()
