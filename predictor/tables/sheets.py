"""Which sheet of a workbook is read: the one named, the first, or the one holding the reviews (TEXT_SHEET)."""

from __future__ import annotations

import dataclasses
import enum
from typing import Callable

from predictor.errors import UserError
from predictor.tables.frames import Facts, Table, build_frame
from predictor.tables.text_column import text_column_and_length


class SheetChoice(enum.Enum):
    """read_table(sheet=TEXT_SHEET): the sheet holding the reviews, not necessarily the first (an Enum, so it is still
    itself once pickled to the reading process)."""
    TEXT = "the sheet with the longest text"


TEXT_SHEET = SheetChoice.TEXT


def other_sheets_hint(facts: Facts | None) -> str:
    """For messages about a missing column: which sheet was read, and that others exist ("" for one sheet, for CSV,
    or without facts)."""
    sheets = facts.sheets if facts else ()
    if len(sheets) < 2:
        return ""
    others = ", ".join(f'"{name}"' for name in sheets if name != facts.sheet)
    return (f' This was sheet "{facts.sheet}"; the file also has {others}: pass --sheet NAME (or pick the '
            "sheet in the page) to read another.")


def read_sheets(names: list[str], sheet: str | SheetChoice | None, name: str,
                read: Callable[[str], tuple[list[list], int]]) -> Table:
    """The table of the sheet named (`read(title)` gives its rows and blank rows skipped), of the first sheet, or,
    with TEXT_SHEET, of the sheet whose text column (guess_text_column) holds the longest text on average: a workbook
    whose first sheet is a summary of codes (Q1, Q2) and whose reviews are on the second is read from the second.
    Then its facts' sheet_note says which sheet was read and why, and lists the others."""
    if sheet is not TEXT_SHEET or len(names) < 2:
        title = _choose_sheet(names, None if sheet is TEXT_SHEET else sheet, name)
        return build_frame(*read(title), name, title, names)
    best, column, best_length, first_error = None, None, -1.0, None
    for title in names:
        try:
            table = build_frame(*read(title), name, title, names)
        except UserError as err:  # an empty sheet (or one refused) cannot be the one holding the reviews
            first_error = first_error or err
            continue
        text_column, length = text_column_and_length(table.frame)
        if length > best_length:  # ties keep the earlier sheet
            best, column, best_length = table, text_column, length
    if best is None:
        raise first_error
    others = ", ".join(f'"{n}"' for n in names if n != best.facts.sheet)
    if column is None:
        why = f"the first of {len(names)}: no sheet has a column of text"
    else:
        why = f'its column "{column}" holds the longest text of the {len(names)} sheets'
    note = f'Read sheet "{best.facts.sheet}": {why}. Other sheets: {others}.'
    return best._replace(facts=dataclasses.replace(best.facts, sheet_note=note))


def _choose_sheet(names: list[str], sheet: str | None, name: str) -> str:
    if not names:
        raise UserError(f"{name} has no worksheets (only charts, or none at all). Add a sheet with the data.")
    if sheet is None:
        return names[0]
    if sheet not in names:
        listed = ", ".join(f'"{n}"' for n in names)
        raise UserError(f'{name} has no sheet named "{sheet}". Sheets in this file: {listed}. Pick one of these.')
    return sheet
