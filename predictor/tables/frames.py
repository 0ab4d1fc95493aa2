"""Rows to a DataFrame, the same for every format: the first non-empty row is the header, blank header cells become
"column_<n>", duplicates get ".1", ".2" suffixes, empty cells are "", and empty rows above the header or after the
last row are skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, NamedTuple, Sequence

import pandas as pd

from predictor.errors import UserError


# Excel cells can sit far apart (A1 and XFD1048576), so a small file can still describe a
# huge grid; bound the grid we materialise (about 1M rows x 20 columns).
MAX_CELLS = 20_000_000


@dataclass(frozen=True)
class Facts:
    """What reading a table found besides its cells, said in the page, by score.py and in messages. Kept beside the
    frame, not in its attrs: pandas drops attrs on many operations, and a reader could not see what they hold."""
    sheet: str | None = None  # the sheet read (None for CSV/TSV)
    sheets: tuple[str, ...] = ()  # every worksheet of the workbook, in order (none for CSV/TSV)
    sheet_note: str | None = None  # with TEXT_SHEET and several sheets: which was read and why, and the others
    encoding: str | None = None  # the encoding a CSV/TSV was decoded with
    blank_rows_skipped: int = 0  # rows with no value in any cell, above the header or after the last row


class Table(NamedTuple):
    """A table read: its frame and its Facts (`frame, facts = tables.read(...)`)."""
    frame: pd.DataFrame
    facts: Facts


def collect_rows(rows: Iterable[Sequence[object]], name: str, report: Callable[[int], None], *,
                 last_row: int = 0) -> tuple[list[list], int]:
    """(rows kept, blank rows skipped): rows with trailing empty cells trimmed, leading empty rows skipped, trailing
    ones dropped. `last_row` is the last row number the file names when `rows` stops earlier (calamine stops at the
    last value): the rows between count as skipped."""
    kept, cells, seen = [], 0, 0
    for row in rows:
        seen += 1
        row = trim(row)
        if row or kept:
            kept.append(row)
            report(len(kept))
            cells += len(row)
            if cells > MAX_CELLS:
                raise _too_many_cells(name)
    while kept and not kept[-1]:
        kept.pop()
    return kept, max(seen, last_row) - len(kept)


def trim(row: Sequence[object]) -> list:
    end = len(row)
    while end and (row[end - 1] is None or row[end - 1] == ""):
        end -= 1
    return list(row[:end])


def build_frame(rows: list[list], blank_rows: int, name: str, sheet: str | None = None,
                sheets: list[str] | None = None) -> Table:
    """Make an object-dtype frame: first row is the header, None becomes ""; its facts name the sheet(s) read and
    count the blank rows skipped (rows with no value in any cell, above the header or below the last row), which the
    page and score.py report. A CSV's empty lines are left out by pandas before this, wherever they are, and not
    counted."""
    if not rows:
        where = f'Sheet "{sheet}" of {name}' if sheet else name
        raise UserError(f"{where} is empty: there is no header row. Put column names in the first row, then the data.")
    width = max(map(len, rows))
    if width * len(rows) > MAX_CELLS:
        raise _too_many_cells(name)
    header = column_names(rows[0] + [None] * (width - len(rows[0])))
    body = [["" if v is None else v for v in row] + [""] * (width - len(row)) for row in rows[1:]]
    df = pd.DataFrame(body, columns=header, dtype=object)
    return Table(df, Facts(sheet=sheet, sheets=tuple(sheets or ()), blank_rows_skipped=blank_rows))


def column_names(header: list) -> list[str]:
    """Name blank headers "column_<n>" (1-based) and make duplicates unique the way pandas does."""
    names = [str(v).strip() if v is not None else "" for v in header]
    names = [text or f"column_{i}" for i, text in enumerate(names, start=1)]
    seen, unique = set(), []
    for label in names:
        candidate, n = label, 0
        while candidate in seen:
            n += 1
            candidate = f"{label}.{n}"
        seen.add(candidate)
        unique.append(candidate)
    return unique


def _too_many_cells(name: str) -> UserError:
    return UserError(
        f"{name} spans more than {MAX_CELLS:,} cells (rows x columns). Delete unused rows/columns far from the "
        "data, or split the table into smaller files."
    )


def blank_rows_sentence(count: int) -> str:
    """What the page and score.py say about Facts.blank_rows_skipped."""
    return (f"{count:,} blank row(s), with no value in any cell, above the header or after the last row were skipped; "
            "every other row is kept, blank rows between the data included.")
