"""Write scored tables as CSV or XLSX that are safe to open in Excel, changing as little as possible.

Scored text comes from outsiders, so nothing in an export may run as a formula when opened
(OWASP "CSV injection"). What is done for that depends on the format:

- .csv has no cell types: Excel and LibreOffice parse every field and evaluate text that
  starts with = + - @ tab or CR (also after leading spaces). Exactly those text cells and
  headers (`would_evaluate`) get a leading "'"; plain numbers such as "-5" or "+7" are
  left alone, as are native numbers, bools and dates. Nothing is ever cut.
- .xlsx stores a type per cell. Every text cell (and header) is written as a string, which
  a spreadsheet never evaluates, so text is written exactly as it is, with no prefix. Only
  Excel's own limits change text: forbidden control characters are removed (counted by
  `cells_with_forbidden_characters`, for the user) and cells over 32,767 UTF-16 units are cut;
  `rows_over_excel_limit` says which rows, and `to_xlsx_bytes(..., status_column=...)` marks
  them in the status column (CUT_NOTE).

Cells keep their type in an .xlsx (issue 22: a CSV's `id` and `stars` came back as text cells, dates with "0:00:00"):
a column read from a CSV whose every value is a plain number that a number cell shows exactly as written ("12",
"-3.5"; not "007", "1.50", "1e5" or an id of 16 digits, which Excel's 15-digit numbers cannot hold) is written as
numbers; a date-time at midnight is written as a date, shown without a time.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd

from predictor import atomic
from predictor.errors import UserError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXCEL_MAX_CELL_CHARS = 32_767  # Excel's hard limit per cell, counted in UTF-16 code units
CUT_NOTE = f"text cut to Excel's {EXCEL_MAX_CELL_CHARS:,}-character cell limit (the .csv keeps it whole)"
EXCEL_MAX_SHEET_NAME = 31
WRITERS_BY_EXTENSION = (".csv", ".xlsx")

log = logging.getLogger(__name__)

_SURROGATE_RE = re.compile("[\ud800-\udfff]")  # in a str, a surrogate is always a lone half of a pair
# What a spreadsheet reads as just a number: sign, digits with an optional point (or ".5"),
# optional exponent, optional spaces around. ASCII digits only ([0-9], not \d).
_PLAIN_NUMBER_RE = re.compile(r" *[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)? *")
# A CSV cell written as a number cell in an .xlsx: an integer or decimal as Python and Excel write it back (no sign
# but "-", no leading zeros, no exponent), within Excel's 15 significant digits (a longer id must stay text).
_DECIMAL_RE = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
EXCEL_DIGITS = 15


def would_evaluate(text: str) -> bool:
    """True when a spreadsheet opening `text` from a .csv might run it as a formula.

    That is text starting with one of FORMULA_PREFIXES (= + - @ tab CR), the OWASP "CSV
    injection" list, also after leading spaces, because Excel and LibreOffice skip those
    when parsing a field (" =1+1" is evaluated). Plain numbers ("-5", "+7", " -1.5", "-3e4")
    are excepted: they are read as the same number whether or not they are quoted, and a
    quote would turn them into text. Anything else with those starts is not a plain number
    ("-5+3", "+33 6 12 34 56 78", "- great film") and may be evaluated or mangled.
    """
    return text.lstrip(" ").startswith(FORMULA_PREFIXES) and _PLAIN_NUMBER_RE.fullmatch(text) is None


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of `df` where every str cell or header a spreadsheet would evaluate (`would_evaluate`) gets a leading "'".

    Everything else is left as it was: other text, plain numbers written as text, native values.
    """
    out = df.copy()
    out.columns = range(out.shape[1])  # by position: duplicate headers must not collide
    for position in out.columns:
        if out[position].dtype.kind not in "biufcmM":  # numeric/bool/datetime columns hold no str
            out[position] = out[position].astype(object).map(_neutral)
    out.columns = [_neutral(label) for label in df.columns]
    return out


def to_csv_bytes(df: pd.DataFrame, header: bool = True) -> bytes:
    """Neutralised CSV as UTF-8 with a BOM (so Excel shows accents right), CRLF line ends, no index.

    Missing values become empty cells; characters that cannot be encoded (lone surrogates) become "?".
    `header=False` gives only the rows, to append to a file begun with `header=True` (which carries the BOM).
    """
    text = neutralise_formulas(df).to_csv(index=False, header=header, lineterminator="\r\n")
    return text.encode("utf-8-sig" if header else "utf-8", errors="replace")


def to_xlsx_bytes(df: pd.DataFrame, sheet_name: str = "scored", *, status_column: str | None = None) -> bytes:
    """Single-sheet .xlsx, no index, where every text cell and header is a string cell, never a formula.

    Text is written as it is (no "'" prefix: a string cell is never evaluated), except where
    Excel forces a change (a warning logs how many cells): control characters below 0x20
    other than tab/LF/CR are removed; text over 32,767 UTF-16 units is cut to that. When
    `status_column` names a column of `df`, each row with a cut cell gets CUT_NOTE appended
    to its status ("<status>; <note>", or the note alone when the status is empty).
    Numbers, bools, dates stay native; timezones dropped (wall-clock kept); NaN/None empty;
    infinities written as text; a CR inside text reads back as LF (XML normalises line ends).
    """
    from openpyxl import Workbook  # imported lazily: CSV-only callers need not pay for it

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet_title(sheet_name))
    changed = [0]
    numbers = _number_columns(df)
    status_positions = [i for i, label in enumerate(df.columns) if status_column is not None and label == status_column]
    cut_rows = set(rows_over_excel_limit(df)) if status_positions else set()
    ws.append([_xlsx_cell(ws, label, changed) for label in df.columns])
    for position, row in enumerate(df.itertuples(index=False, name=None)):
        if position in cut_rows:
            row = list(row)
            for i in status_positions:
                row[i] = _with_cut_note(row[i])
        ws.append([_xlsx_cell(ws, numbers[i](value) if i in numbers else value, changed)
                   for i, value in enumerate(row)])
    if changed[0]:  # for logs; score.py and the page tell the user in plain words (cells_with_forbidden_characters)
        log.warning("to_xlsx_bytes: %d cell(s) had forbidden characters removed or were truncated", changed[0])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def cells_with_forbidden_characters(df: pd.DataFrame) -> int:
    """How many str cells hold characters an .xlsx cannot store (control characters other than tab, LF, CR), which
    to_xlsx_bytes removes: the user is told, since the .csv keeps them."""
    count = 0
    for position in range(df.shape[1]):
        column = df.iloc[:, position]
        if column.dtype.kind not in "biufcmM":
            count += sum(isinstance(value, str) and _excel_legal(value) != value for value in column.tolist())
    return count


def control_characters_sentence(count: int) -> str:
    """What the user is told about cells_with_forbidden_characters' count (score.py and the page add where to keep
    them)."""
    return (f"{count:,} cell(s) held control characters (invisible codes such as NUL or BEL) that an .xlsx cannot "
            "store: they were removed from those cells in the .xlsx.")


def rows_over_excel_limit(df: pd.DataFrame) -> list[int]:
    """Positions (0-based, in order) of the rows with at least one str cell that .xlsx must cut to Excel's limit.

    Counted as to_xlsx_bytes does: in UTF-16 units, after removing the characters Excel forbids.
    """
    rows: set[int] = set()
    for position in range(df.shape[1]):
        column = df.iloc[:, position]
        if column.dtype.kind in "biufcmM":  # numeric/bool/datetime columns hold no str
            continue
        for row, value in enumerate(column.tolist()):
            if isinstance(value, str) and _over_excel_limit(_excel_legal(value)):
                rows.add(row)
    return sorted(rows)


def write_table(df: pd.DataFrame, path: str | Path, *, status_column: str | None = None) -> None:
    """Write `df` to a .csv or .xlsx path (chosen by extension), atomically: readers never see half a file.

    `status_column` is passed to to_xlsx_bytes (a .csv never cuts text, so needs no note).
    """
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".csv":
        atomic.write_bytes(path, to_csv_bytes(df))
    elif ext == ".xlsx":
        atomic.write_bytes(path, to_xlsx_bytes(df, status_column=status_column))
    else:
        raise UserError(
            f"Cannot save results as {path.name}: choose a file name ending in "
            f"{' or '.join(WRITERS_BY_EXTENSION)}."
        )


# ---------------------------------------------------------------------------------------------------------------------
# Helpers


def _neutral(value: object) -> object:
    """Prefix a string a spreadsheet would evaluate with "'" so it is shown as text (CSV only)."""
    if isinstance(value, str) and would_evaluate(value):
        return "'" + value
    return value


def as_written(value: str) -> str:
    """The text a neutralised CSV cell stood for (_neutral's inverse), for this code's own files read back. Exact but
    for a text that itself began with "'" followed by what would_evaluate flags, which comes back without its "'"."""
    return value[1:] if value.startswith("'") and would_evaluate(value[1:]) else value


def _number_columns(df: pd.DataFrame) -> dict[int, object]:
    """{position: str -> number} for the object columns whose every non-blank value is a str that _plain_number
    reads (a CSV's numbers); a column with one code such as "007" among them stays text, whole."""
    found = {}
    for position in range(df.shape[1]):
        column = df.iloc[:, position]
        if column.dtype.kind != "O":
            continue
        values = [value for value in column.tolist() if not (isinstance(value, str) and not value)]
        if values and all(isinstance(value, str) and _plain_number(value) is not None for value in values):
            found[position] = lambda value: _plain_number(value) if value else value
    return found


def _plain_number(text: str) -> int | float | None:
    """The number `text` is, when a number cell shows it exactly as written: an int or a decimal written the way
    Python (and Excel) writes it back, within Excel's 15 significant digits; else None ("007", "1.50", "+3", " 7")."""
    if not _DECIMAL_RE.fullmatch(text) or len(text.lstrip("-").replace(".", "").lstrip("0")) > EXCEL_DIGITS:
        return None
    number = float(text) if "." in text else int(text)
    return number if repr(number) == text else None


def _with_cut_note(status: object) -> str:
    """`status` with CUT_NOTE appended ("; " between), or CUT_NOTE alone when the status is missing or empty."""
    if status is None or (not isinstance(status, str) and pd.api.types.is_scalar(status) and pd.isna(status)):
        return CUT_NOTE
    status = str(status)
    return f"{status}; {CUT_NOTE}" if status else CUT_NOTE


def _xlsx_cell(ws: object, value: object, changed: list[int]) -> object:
    """Turn one value into what openpyxl should write: a native value, None, or a forced-text cell."""
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, (dt.datetime, dt.time)) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)  # Excel has no timezones; openpyxl refuses aware values
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        value = value.date()  # a date without a time: written with a date format, so no "0:00:00" is shown
    if _is_finite_number(value) or isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return value
    return _text_cell(ws, str(value), changed)


def _text_cell(ws: object, text: str, changed: list[int]) -> object:
    from openpyxl.cell.cell import WriteOnlyCell

    safe = _fit_excel(_excel_legal(text))
    if safe != text:
        changed[0] += 1
    cell = WriteOnlyCell(ws, value=safe)
    # A string cell is never evaluated, so the text needs no "'" prefix. openpyxl marks any str
    # starting with "=" as a formula: force the string type (written as an inline string).
    cell.data_type = "s"
    return cell


def _excel_legal(text: str) -> str:
    """`text` as an .xlsx can hold it: control characters below 0x20 (except tab, LF, CR) removed,
    lone surrogates (not valid in XML; openpyxl would write an unreadable file) replaced by "?" as in the CSV."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return _SURROGATE_RE.sub("?", ILLEGAL_CHARACTERS_RE.sub("", text))


def _over_excel_limit(text: str) -> bool:
    """True when `text` is longer than Excel's cell limit, counted in UTF-16 units."""
    if len(text) * 2 <= EXCEL_MAX_CELL_CHARS:  # cannot exceed the limit even if all astral
        return False
    return len(text.encode("utf-16-le")) > EXCEL_MAX_CELL_CHARS * 2


def _fit_excel(text: str) -> str:
    """Cut text to Excel's cell limit without splitting an emoji's surrogate pair."""
    if not _over_excel_limit(text):
        return text
    return text.encode("utf-16-le")[: EXCEL_MAX_CELL_CHARS * 2].decode("utf-16-le", errors="ignore")


def _is_finite_number(value: object) -> bool:
    """True for values Excel can store as a number (it has no NaN or infinity)."""
    import numpy as np

    if isinstance(value, (bool, int, np.bool_, np.integer)):
        return True
    if isinstance(value, (float, Decimal, np.floating)):
        return math.isfinite(float(value))
    return False


def _sheet_title(name: str) -> str:
    """Make a valid Excel sheet name: no []:*?/\\ and at most 31 characters."""
    return re.sub(r"[\[\]:*?/\\]", "_", str(name))[:EXCEL_MAX_SHEET_NAME].strip("'") or "scored"
