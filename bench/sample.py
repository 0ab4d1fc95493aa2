"""`python train.py` exactly as README's first command runs it: the bundled sample, every default (issue 24's goal:
at most 60 s and 2 GB peak RSS on 2 cores).

    python -m bench.sample            # every default, 3 runs one after another
    python -m bench.sample --runs 5
    python -m bench.sample --quick    # 1 run of 1 epoch at lr 1e-4 (no lr_find): a smoke check of the path

Each run is timed from process start to exit with the peak RSS of train.py's process, and each phase as train.py
itself timed it (training.json durations_s), so a slow phase can be named. Models go to a scratch models folder.
Runs follow each other, so the first also pays for cold file caches; the table gives the median and the range.
"""
import os
import shutil

import numpy as np

from bench.common import TMP, Run, log, parser, run_measured
from predictor import model_folder


def spread(values, digits=1):
    return {"median": round(float(np.median(values)), digits), "min": round(float(min(values)), digits),
            "max": round(float(max(values)), digits)}


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--runs", type=int, help="train.py runs (default: 3; quick: 1)")
    args = p.parse_args(argv)
    runs = args.runs or (1 if args.quick else 3)
    extra = ["--epochs", "1", "--lr", "1e-4"] if args.quick else []
    run = Run("sample", args.quick, {"command": " ".join(["python train.py", *extra]), "runs": runs,
                                     "data": "data/sample_reviews.csv (bundled)"})
    each = []
    for number in range(runs):
        models = TMP / "sample-models"
        shutil.rmtree(models, ignore_errors=True)
        models.mkdir(parents=True)
        seconds, report = run_measured(["train.py", *extra], env={**os.environ, "PREDICTOR_MODELS_DIR": str(models)})
        [info] = [model_folder.read(path) for path in models.iterdir() if path.is_dir()]
        record = info.record
        each.append({"seconds": round(seconds, 1), "peak_rss_mb": round(report["peak_rss_mb"], 1),
                     "durations_s": record.durations_s, "validation_accuracy": info.metrics["accuracy"],
                     "precision": record.runtime.get("precision"), "lr": record.lr and record.lr["chosen"],
                     "lr_find_batches": record.lr and record.lr.get("batches")})
        log(f"run {number + 1}/{runs}: {seconds:.0f} s start to exit, peak RSS {report['peak_rss_mb']:.0f} MB; "
            f"phases: {record.durations_s}")
    seconds, peaks = [r["seconds"] for r in each], [r["peak_rss_mb"] for r in each]
    phases = {name: spread([r["durations_s"][name] for r in each]) for name in each[0]["durations_s"]}
    run.results.update({"runs": each, "seconds": spread(seconds), "peak_rss_mb": spread(peaks, 0), "phases_s": phases,
                        "epochs": record.settings["epochs"], "maxlen": record.maxlen,
                        "classifier": record.classifier, "rows": record.rows})
    accuracy = sorted({r["validation_accuracy"] for r in each})
    run.row(f"python train.py {' '.join(extra)}".strip(),
            f"bundled sample: {record.rows['train']} train / {record.rows['validation']} validation, {runs} run(s)",
            f"validation acc {' / '.join(f'{a:.3f}' for a in accuracy)}",
            f"{np.median(seconds):.0f} s ({min(seconds):.0f}-{max(seconds):.0f}) start to exit; phases (median): "
            + ", ".join(f"{name} {s['median']:.0f} s" for name, s in phases.items()),
            f"{np.median(peaks) / 1024:.2f} GB ({min(peaks) / 1024:.2f}-{max(peaks) / 1024:.2f})")
    run.finish()


if __name__ == "__main__":
    main()
