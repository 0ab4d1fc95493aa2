"""`python train.py` exactly as README's first command runs it: the bundled sample, every default (issue 8's goal:
about 2 minutes on 2 cores).

    python -m bench.sample            # every default
    python -m bench.sample --quick    # 1 epoch at lr 1e-4 (no lr_find): a smoke check of the path

It records the run from start to exit, the peak RSS of train.py's process, and each phase as train.py itself timed
it (training.json durations_s), so a slow phase can be named. The model goes to a scratch models folder.
"""
import os
import shutil

from bench.common import TMP, Run, log, parser, run_measured
from predictor import model_folder


def main(argv=None):
    args = parser(__doc__).parse_args(argv)
    models = TMP / "sample-models"
    shutil.rmtree(models, ignore_errors=True)
    models.mkdir(parents=True)
    extra = ["--epochs", "1", "--lr", "1e-4"] if args.quick else []
    run = Run("sample", args.quick, {"command": " ".join(["python train.py", *extra]),
                                     "data": "data/sample_reviews.csv (bundled)"})
    seconds, report = run_measured(["train.py", *extra], env={**os.environ, "PREDICTOR_MODELS_DIR": str(models)})
    [info] = [model_folder.read(path) for path in models.iterdir() if path.is_dir()]
    record, durations, accuracy = info.record, info.record.durations_s, info.metrics["accuracy"]
    log(f"train.py took {seconds:.0f} s start to exit, peak RSS {report['peak_rss_mb']:.0f} MB; phases: {durations}")
    run.results.update({"seconds": round(seconds, 1), "peak_rss_mb": round(report["peak_rss_mb"], 1),
                        "durations_s": durations, "validation_accuracy": accuracy, "epochs": record.settings["epochs"],
                        "maxlen": record.maxlen, "classifier": record.classifier, "rows": record.rows})
    phases = ", ".join(f"{name} {value:.0f} s" for name, value in durations.items())
    run.row(f"python train.py {' '.join(extra)}".strip(), f"bundled sample: {record.rows['train']} train / "
            f"{record.rows['validation']} validation", f"validation acc {accuracy:.3f}",
            f"{seconds:.0f} s start to exit ({phases})", f"{report['peak_rss_mb'] / 1024:.2f} GB")
    run.finish()


if __name__ == "__main__":
    main()
