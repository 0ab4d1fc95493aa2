"""Score a spreadsheet from the command line, exactly as the app's bulk path does (the command line only; the
scoring itself is predictor/scoring.py, shared with the app).

    python score.py IN.xlsx --text-column COL --out OUT.xlsx [--model NAME_OR_DIR] [--sheet NAME]
"""
import argparse
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import predictor  # noqa: F401  (sets up TensorFlow before anything imports it)
from predictor.errors import UserError

if TYPE_CHECKING:  # annotations only: imported for real inside the functions, after argparse
    from predictor.model_folder import ModelInfo
    from predictor.scorer import Scorer
    from predictor.thresholds import Thresholds

# Exit codes: 2 is what argparse uses for bad usage, and bad input is the same kind of problem.
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # what a shell reports for Ctrl-C
PLAIN, RAY = "plain", "ray"
STREAM_ROWS = 5_000  # rows per chunk of a streamed CSV: a few MB of text, and progress every minute or so on a CPU


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python score.py",
        description="Score every row of a spreadsheet with a trained model. The output keeps every row and column of "
                    "the input and adds the predicted label, one probability per class and a scoring_status column.")
    parser.add_argument("input", help="table to score: .xlsx, .xls, .csv, .tsv or .parquet (a .csv, .tsv or .parquet "
                                      "scored into a .csv is read in chunks, whatever its size)")
    parser.add_argument("--text-column", help="column holding the reviews (default: the column with the longest "
                                              "average text)")
    parser.add_argument("--out", required=True, help="where to write the scored table (.xlsx or .csv)")
    parser.add_argument("--model", help="model folder name (or path) inside the models folder (default: the default "
                                        "model: the one made default, else the first trained)")
    parser.add_argument("--sheet", help="worksheet to read (default: the one whose text column holds the longest "
                                        "text, as the page picks it; the first when none holds text)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="multi-label models: give every label whose probability reaches this one value "
                             "(default: the model's own thresholds, one per label, chosen on its validation rows)")
    parser.add_argument("--models-dir", help="models folder (default: models/ or $PREDICTOR_MODELS_DIR)")
    parser.add_argument("--engine", choices=(PLAIN, RAY), default=PLAIN,
                        help="'ray' scores a .csv/.tsv/.parquet on a Ray cluster (Ray Data, one model per worker), "
                             "with the same output (default: %(default)s: this process)")
    parser.add_argument("--address", help="with --engine ray: the cluster to join, e.g. ray://head:10001 or auto "
                                          "(default: start Ray on this machine)")
    parser.add_argument("--workers", type=int, default=2, help="with --engine ray: scoring actors, each holding one "
                                                               "copy of the model (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = parse_args(argv)
    # The writer's log line is for logs; this command says the same to the user in a sentence (run()).
    logging.getLogger("predictor.tables.writing").addHandler(logging.NullHandler())
    try:
        run(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"Interrupted: {args.out} was not written, and nothing half-written was left. Run the command again to "
              "score the whole file.", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def run(args: argparse.Namespace) -> None:
    """Read, score, write and report; raises UserError on anything the user can fix."""
    from predictor import scoring, tables  # after argparse, so --help is instant
    from predictor.tables import writing

    out_path = Path(args.out)
    if out_path.suffix.lower() not in writing.WRITERS_BY_EXTENSION:  # checked now, not after minutes of scoring
        raise UserError(f"--out {args.out}: use a file name ending in .xlsx or .csv so the format is clear.")
    if not out_path.parent.is_dir():
        raise UserError(f"--out {args.out}: the folder {out_path.parent} does not exist. Create it or pick another.")
    if args.threshold is not None and not 0 < args.threshold < 1:
        raise UserError(f"--threshold {args.threshold}: use a probability between 0 and 1, e.g. 0.5.")

    if args.engine == RAY and not (Path(args.input).suffix.lower() in (".csv", ".tsv", ".parquet")
                                   and out_path.suffix.lower() == ".csv"):
        raise UserError("--engine ray scores a .csv, .tsv or .parquet file into a .csv: use those, or drop --engine.")
    if args.workers < 1:
        raise UserError(f"--workers {args.workers}: use 1 or more.")
    if streamable(args.input, out_path):
        score_stream(args, out_path)
        return
    print(f"Reading {Path(args.input).name} ...", flush=True)
    df, facts = tables.read(args.input, sheet=args.sheet or tables.TEXT_SHEET, on_progress=ReadingPrinter())
    if facts.sheet_note:
        print(f"{facts.sheet_note} To score another, pass --sheet NAME.", flush=True)
    if facts.blank_rows_skipped:
        print(f"{tables.blank_rows_sentence(facts.blank_rows_skipped)}", flush=True)
    text_column = args.text_column or scoring.default_text_column(df, Path(args.input).name)
    scoring.check_text_column(df, text_column, facts)
    scorer = open_scorer(args.model, args.models_dir)
    thresholds = chosen_thresholds(args, scorer.info)

    print(f"Scoring {len(df):,} rows of column \"{text_column}\" with model {scorer.info.name} "
          f"(reads {scorer.info.record.reading_text()}) ...", flush=True)
    started = time.monotonic()
    scored = scoring.score_frame(scorer, df, text_column, thresholds=thresholds, on_progress=ProgressPrinter())
    writing.write_table(scored.frame, out_path, status_column=scored.status_column)
    summary = scoring.summarise(scored)
    print_summary(summary, time.monotonic() - started)
    warn_if_unlike_training(scoring.unlike_warning(scorer.info, summary, df[text_column].tolist(),
                                                   scored.status_column))
    cleaned = writing.cells_with_forbidden_characters(scored.frame) if out_path.suffix.lower() == ".xlsx" else 0
    if cleaned:
        print(writing.control_characters_sentence(cleaned) + " Write --out as .csv to keep them.")
    cut = writing.rows_over_excel_limit(scored.frame) if out_path.suffix.lower() == ".xlsx" else []
    if cut:
        print(f"{len(cut):,} row(s) hold a cell longer than Excel's limit of {writing.EXCEL_MAX_CELL_CHARS:,} "
              f"characters: the .xlsx cuts it, and says so in {scored.status_column}. Write --out as .csv to keep "
              "every character.")
    print(f"Wrote {out_path}")


def streamable(source: str, out_path: Path) -> bool:
    """CSV/TSV to CSV is read, scored and written chunk by chunk: any size, memory bounded. Anything else is read
    whole, within the size cap (a big CSV bound for .xlsx is told to write .csv instead)."""
    from predictor import tables

    if Path(source).suffix.lower() == ".parquet":
        if out_path.suffix.lower() != ".csv":
            raise UserError(f"{Path(source).name}: a Parquet file is scored in chunks into a .csv; write --out as "
                            ".csv.")
        return True
    if Path(source).suffix.lower() not in (".csv", ".tsv"):
        return False
    if out_path.suffix.lower() == ".csv":
        return True
    if Path(source).is_file() and Path(source).stat().st_size > tables.MAX_TABLE_BYTES:
        raise UserError(f"{Path(source).name} is over {tables.MAX_TABLE_BYTES // tables.MB} MB, more than an .xlsx "
                        "output is built for. Write --out as .csv: a .csv is scored in chunks, whatever its size.")
    return False


def score_stream(args: argparse.Namespace, out_path: Path) -> None:
    """Score a CSV/TSV or Parquet file of any size into a CSV, STREAM_ROWS rows at a time, here or on a Ray cluster
    (--engine ray). The output appears only when complete; Ctrl-C leaves no half file and says how far it got."""
    import itertools

    from predictor import atomic, model_folder, scoring, tables
    from predictor.tables import writing

    name = Path(args.input).name
    reader = tables.parquet_chunks if Path(args.input).suffix.lower() == ".parquet" else tables.csv_chunks
    chunks = reader(args.input, STREAM_ROWS)
    first = next(chunks, None)
    if first is None or first[0].empty:
        raise UserError(f"{name} has a header row but no data rows. Add the reviews under the header and try again.")
    text_column = args.text_column or scoring.default_text_column(first[0], name)
    scoring.check_text_column(first[0], text_column)
    model_dir = model_path(args.model, args.models_dir)
    info, columns = model_folder.read(model_dir), list(first[0].columns)
    thresholds = chosen_thresholds(args, info)
    engine = f" on Ray ({args.workers} workers)" if args.engine == RAY else ""
    print(f"Scoring column \"{text_column}\" of {name} in chunks of {STREAM_ROWS:,} rows with model {info.name} "
          f"(reads {info.record.reading_text()}){engine} ...", flush=True)
    pairs = itertools.chain([first], chunks)
    if args.engine == RAY:
        from predictor import ray_engine

        scored = ray_engine.score(pairs, model_dir, text_column, thresholds, args.address, args.workers)
    else:
        scored = scored_here(pairs, model_dir, text_column, thresholds)
    summary, rows, started, progress = None, 0, time.monotonic(), StreamPrinter()
    try:
        with atomic.replacing(out_path) as out:
            for frame, done, size in scored:
                out.write(writing.to_csv_bytes(frame, header=summary is None))
                table = scoring.scored_table(frame, columns, text_column, info.classes, info.multilabel, thresholds,
                                             info.name)
                part = scoring.summarise(table)
                summary = part if summary is None else scoring.add_summaries(summary, part)
                rows += len(frame)
                progress(rows, done, size)
    except KeyboardInterrupt:
        print(f"Interrupted after {rows:,} rows.", file=sys.stderr)
        raise
    print_summary(summary, time.monotonic() - started)
    # Judged on every row's status; a folder saved before version 7, on the first chunk's texts.
    warn_if_unlike_training(scoring.unlike_warning(info, summary, first[0][text_column].tolist(), table.status_column))
    print(f"Wrote {out_path}")


def warn_if_unlike_training(warning: str | None) -> None:
    if warning:
        print(f"Warning: {warning}")


def chosen_thresholds(args: argparse.Namespace, info: "ModelInfo") -> "Thresholds":
    """The thresholds multi-label labels are given at: --threshold for every label, else the model's own (printed,
    with why a model has none)."""
    from predictor import thresholds

    if args.threshold is not None:
        return thresholds.Thresholds.uniform(args.threshold, info.classes)
    chosen = thresholds.Thresholds.of_model(info.record)
    if info.multilabel:
        print(f"Labels are given at the model's thresholds: {chosen.describe()}. --threshold sets one for all.")
        missing = thresholds.why_none(info.record)
        if missing:
            print(missing)
    return chosen


def scored_here(pairs, model_dir: Path, text_column: str, thresholds: "Thresholds"):
    """(scored frame, bytes or rows read, size) for each chunk, scored in this process."""
    from predictor import scoring
    from predictor.scorer import Scorer

    scorer = Scorer(model_dir)
    for i, (chunk, done, size) in enumerate(pairs):
        if i and chunk.empty:
            continue
        yield scoring.score_frame(scorer, chunk, text_column, thresholds=thresholds, part_of_a_stream=i > 0).frame, \
            done, size


def model_path(name_or_path: str | Path | None, models_dir: str | Path | None) -> Path:
    """The chosen model's folder (only inside the models folder), or the default one; UserError when there is none."""
    from predictor import model_folder

    if name_or_path is None:
        available = model_folder.list_models(models_dir)
        if not available:
            where = models_dir or model_folder.models_dir()
            raise UserError(f"There is no trained model in {where}. Train one first: python train.py")
        return available[0].path  # list_models puts the default first
    return model_folder.inside_models_dir(name_or_path, models_dir)


def open_scorer(name_or_path: str | Path | None, models_dir: str | Path | None) -> "Scorer":
    """The chosen model, or the default one; UserError when there is none."""
    from predictor.scorer import Scorer

    return Scorer(model_path(name_or_path, models_dir))


class ProgressPrinter:
    """Prints "rows done / total" at most every few seconds, so logs stay short on big files."""

    INTERVAL_S = 5  # often enough to see it is alive, rare enough for a log file

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self, rows_done: int, rows_total: int) -> None:
        now = time.monotonic()
        if rows_done == rows_total or now - self._last >= self.INTERVAL_S:
            self._last = now
            print(f"  {rows_done:,} / {rows_total:,} rows", flush=True)


class ReadingPrinter:
    """Says every few seconds that a slow file is still being read, and how far it got."""

    INTERVAL_S = 5

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self, progress) -> None:
        if progress.elapsed_s - self._last >= self.INTERVAL_S:
            self._last = progress.elapsed_s
            rows = f": {progress.count:,} rows so far" if progress.count else ""
            print(f"  still reading after {progress.elapsed_s:.0f} s{rows}", flush=True)


class StreamPrinter:
    """Rows done, share of the file read and time left, every few seconds."""

    INTERVAL_S = 5

    def __init__(self) -> None:
        self._started = self._last = time.monotonic()

    def __call__(self, rows: int, done_bytes: int, size: int) -> None:
        now = time.monotonic()
        if now - self._last < self.INTERVAL_S and done_bytes < size:
            return
        self._last = now
        share = done_bytes / size if size else 1.0
        left = (now - self._started) * (1 - share) / share if share else 0.0
        eta = f", about {left / 60:.0f} min left" if left >= 90 else f", about {left:.0f} s left" if left else ""
        print(f"  {rows:,} rows ({share:.0%} of the file){eta}", flush=True)


def print_summary(summary: dict, seconds: float) -> None:
    print(f"Done in {seconds:.1f} s: {summary['scored']:,} of {summary['rows']:,} rows scored.")
    print("Predicted labels:")
    for label, rows in summary["label_counts"].itertuples(index=False):
        print(f"  {label}: {rows:,}")
    if "no_label" in summary:
        print(f"  (no label at or above its threshold): {summary['no_label']:,}")
    print("Status:")
    for status, rows in summary["status_counts"].items():
        print(f"  {status}: {rows:,}")


if __name__ == "__main__":
    sys.exit(main())
