"""A million-row CSV through score.py: every row back in order, with memory bounded whatever the file's length
(issue 9).

    python -m bench.million               # 1,000,000 rows
    python -m bench.million --quick       # 20,000 rows
    python -m bench.million --rows N --model DIR

The file repeats the 25,000 IMDB test reviews (real reviews, about 1.3 kB each) with an `id` column, so order can be
checked. score.py reads it in chunks, scores each and appends it to the output as it goes (predictor/tables/stream.py
csv_chunks); the output is checked for every id in order.

The model: by default the NBSVM-only model train.py makes from 2,000 IMDB training rows (`--classifier nbsvm`),
because BERT on 2 cores scores about 50 rows/s reading the start of each review and 12 reading windows, which would
make this one run take 5.5 to 23 hours; the streaming path is the same for every model, and BERT's memory is bounded
by its batch. `--model` runs any model folder.

Peak RSS is that of the largest process score.py started or was (getrusage of a wrapper's children), so the
benchmark's own memory is not counted.
"""
import json
import subprocess
import sys
from pathlib import Path

from bench.common import REPO, TMP, Run, load, log, parser, run_measured


def write_big_csv(path, rows):
    """`rows` rows repeating the IMDB test reviews, written in slices so the benchmark itself stays small."""
    reviews = load("imdb_test")[["review"]]
    written = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        while written < rows:
            part = reviews.iloc[:rows - written].copy()
            part.insert(0, "id", range(written, written + len(part)))
            part.to_csv(handle, index=False, header=written == 0)
            written += len(part)
    return path.stat().st_size


def nbsvm_model(folder):
    """train.py --classifier nbsvm on 2,000 IMDB training rows (seconds), unless it is there already."""
    if (folder / "training.json").is_file():
        return folder
    data = TMP / "million_train.csv"
    TMP.mkdir(parents=True, exist_ok=True)
    load("imdb_train").sample(2000, random_state=0).to_csv(data, index=False)
    done = subprocess.run([sys.executable, "train.py", "--data", str(data), "--text-column", "review",
                           "--label-column", "sentiment", "--classifier", "nbsvm", "--out", str(folder), "--force"],
                          cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"train.py failed:\n{done.stderr[-3000:]}")
    return folder


def ids_in_order(path, rows):
    import pandas as pd

    expected = 0
    for chunk in pd.read_csv(path, usecols=["id"], chunksize=100_000):
        if not (chunk["id"].to_numpy() == range(expected, expected + len(chunk))).all():
            return False
        expected += len(chunk)
    return expected == rows


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--rows", type=int, help="(default: 1,000,000; quick: 20,000)")
    p.add_argument("--model", help="saved model folder (default: an NBSVM-only IMDB model, trained if missing)")
    args = p.parse_args(argv)
    rows = args.rows or (20_000 if args.quick else 1_000_000)
    model_dir = Path(args.model).resolve() if args.model else nbsvm_model(TMP / "million-models" / "nbsvm-imdb")
    record = json.loads((model_dir / "training.json").read_text())
    run = Run("million", args.quick, {"rows": rows, "model": str(model_dir), "classifier": record["classifier"],
                                      "data": "../shared/data/imdb_test.csv.gz, repeated"})
    source, out = TMP / f"million_{rows}.csv", TMP / f"million_{rows}_scored.csv"
    size = write_big_csv(source, rows)
    log(f"wrote {rows:,} rows ({size / 1e6:,.0f} MB) to {source}")
    seconds, report = run_measured(["score.py", str(source), "--text-column", "review", "--model", str(model_dir),
                                    "--models-dir", str(model_dir.parent), "--out", str(out)])
    in_order = ids_in_order(out, rows)
    log(f"{rows:,} rows in {seconds:.0f} s ({rows / seconds:,.0f} rows/s), peak RSS {report['peak_rss_mb']:.0f} MB, "
        f"every row back in order: {in_order}")
    run.results.update({"seconds": round(seconds, 1), "rows_per_s": round(rows / seconds, 1), "input_mb": size / 1e6,
                        "output_mb": out.stat().st_size / 1e6, "peak_rss_mb": round(report["peak_rss_mb"], 1),
                        "every_row_in_order": in_order, "score_py_output": report["stdout"]})
    run.row(f"score.py on a {size / 1e6:,.0f} MB CSV ({record['classifier']} model)",
            f"{rows:,} rows: IMDB test reviews repeated",
            "every row back, in order" if in_order else "ROWS MISSING OR OUT OF ORDER",
            f"{seconds / 60:.1f} min ({rows / seconds:,.0f} rows/s), start to exit",
            f"{report['peak_rss_mb']:.0f} MB (largest process)")
    run.note("With BERT the same path holds the same chunks: its time is rows / the rows/s of the score benchmarks.")
    source.unlink()
    out.unlink()
    run.finish()


if __name__ == "__main__":
    main()
