"""read (and read_table): an upload or a file read by format in a child process held to time and memory limits."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from predictor import worker
from predictor.tables.delimited import read_csv
from predictor.tables.files import MAX_TABLE_BYTES, MB, ZIP_MAGIC, human, load
from predictor.tables.frames import Table
from predictor.tables.sheets import SheetChoice
from predictor.tables.xls import read_xls
from predictor.tables.xlsx import read_xlsx


# Every upload is read, or refused with a message, within 30 s and 1 GB on our 2-core machine whatever its shape
# (issue 11): the parsing runs in a child process stopped at these limits (start-up, about 0.5 s, included).
READ_LIMITS = worker.Limits(seconds=25, memory_bytes=1000 * MB)


def read(source: str | Path | bytes, *, filename: str | None = None, sheet: str | SheetChoice | None = None,
         max_bytes: int = MAX_TABLE_BYTES, on_progress: Callable[[worker.Progress], None] | None = None,
         limits: worker.Limits | None = None) -> Table:
    """Read a table from a path or uploaded bytes (`filename` then gives the extension): (frame, facts).

    `sheet` picks an Excel sheet by name (default: the first; TEXT_SHEET: the one holding text, and facts.sheet_note
    says which and why); the facts say which sheet was read, list them all, give a CSV's encoding and count the blank
    rows skipped (frames.Facts). The parsing runs in a child process held to `limits` (default READ_LIMITS;
    predictor/worker.py), which calls `on_progress` a few times a second and stops the child if it raises. Raises
    UserError on bad input.
    """
    data, ext, name = load(source, filename, max_bytes)
    limits = limits or READ_LIMITS
    return worker.run(
        parse, (data, ext, name, sheet), limits=limits, what=f"Reading {name}", on_progress=on_progress,
        too_slow=f"took longer than {limits.seconds:g} s, so it was stopped: it holds more rows or cells than can "
                 "be read in that time, or cells far away from the data. Delete unused rows and columns, split it "
                 "into smaller files, or save just the needed columns as CSV (much faster to read), and try again.",
        too_big=f"needed more than {human(limits.memory_bytes)} of memory, so it was stopped. Split the table into "
                "smaller files, or save just the needed columns as CSV, and try again.")


def read_table(source: str | Path | bytes, **options) -> pd.DataFrame:
    """read(source, **options)'s frame alone, for callers that need none of the facts."""
    return read(source, **options).frame


def parse(data: bytes, ext: str, name: str, sheet: str | SheetChoice | None,
          report: Callable[[int], None]) -> Table:
    """The parsing read runs in its child process: CSV/TSV, legacy .xls or .xlsx, by content and extension."""
    if ext in (".csv", ".tsv"):
        return read_csv(data, name, "\t" if ext == ".tsv" else None, report)
    if _is_legacy_xls(ext, data):
        return read_xls(data, name, sheet, report)
    return read_xlsx(data, name, sheet, report)


def _is_legacy_xls(ext: str, data: bytes) -> bool:
    # A zip named .xls is an .xlsx saved under the wrong name; it is read as what it is.
    return ext == ".xls" and not data.startswith(ZIP_MAGIC)
