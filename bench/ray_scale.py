"""score.py on a CSV: the plain run beside --engine ray with 1 and 2 workers on this machine (issue 9).

    python -m bench.ray_scale            # 1,000 IMDB test reviews
    python -m bench.ray_scale --quick    # 100
    python -m bench.ray_scale --model DIR

Each run is `score.py IN --out OUT [--engine ray --workers N]` in a fresh process, timed from start to exit (Ray's
start and each actor's model load included), with the outputs compared byte for byte. On a cluster, throughput is
this machine's rows/s per worker times the workers, as long as each worker has its own cores.
"""
import subprocess
import sys
import time
from pathlib import Path

from bench.common import REPO, TMP, Run, load, log, parser
from bench.score import ensure_model


def timed_run(args):
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "score.py", *args], cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"score.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--rows", type=int, help="(default: 1,000; quick: 100)")
    p.add_argument("--model", help="saved model folder (default: as bench.score picks)")
    args = p.parse_args(argv)
    rows = args.rows or (100 if args.quick else 1000)
    model_dir = Path(args.model or ensure_model()).resolve()
    run = Run("ray_scale", args.quick, {"rows": rows, "model": str(model_dir),
                                        "data": "../shared/data/imdb_test.csv.gz"})
    source = TMP / "ray_scale.csv"
    load("imdb_test")[["review"]].iloc[:rows].to_csv(source, index=False)
    common = ["--text-column", "review", "--model", str(model_dir), "--models-dir", str(model_dir.parent)]
    seconds, outputs = {}, {}
    for name, extra in [("plain", []), ("ray, 1 worker", ["--engine", "ray", "--workers", "1"]),
                        ("ray, 2 workers", ["--engine", "ray", "--workers", "2"])]:
        out = TMP / f"ray_scale_{len(seconds)}.csv"
        seconds[name] = timed_run([str(source), "--out", str(out), *common, *extra])
        outputs[name] = out.read_bytes()
        log(f"{name}: {rows} rows in {seconds[name]:.1f} s ({rows / seconds[name]:.1f} rows/s)")
        run.row(f"score.py, {name}", f"{rows:,} IMDB test reviews, model {model_dir.parent.name}/{model_dir.name}",
                "same output as plain" if outputs[name] == outputs["plain"] else "OUTPUT DIFFERS from plain",
                f"{seconds[name]:.1f} s from start to exit ({rows / seconds[name]:.1f} rows/s)")
    run.results.update({"seconds": {k: round(v, 1) for k, v in seconds.items()},
                        "identical_outputs": all(o == outputs["plain"] for o in outputs.values())})
    run.note("2 cores: Ray's workers share the same two cores the plain run uses, so more workers cannot add cores "
             "here; the figures show Ray's own cost (start, one model load per worker) against the plain run.")
    run.finish()


if __name__ == "__main__":
    main()
