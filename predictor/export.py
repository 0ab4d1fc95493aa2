"""Write scored tables as CSV or XLSX that are safe to open in Excel.

Cells (and headers) that spreadsheet apps would run as formulas are neutralised with a
leading quote, per the OWASP "CSV injection" rule, since scored text comes from outsiders.
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
EXCEL_MAX_SHEET_NAME = 31
WRITERS_BY_EXTENSION = (".csv", ".xlsx")

log = logging.getLogger(__name__)


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of `df` where every str cell or header starting with a FORMULA_PREFIXES char gets a leading "'"."""
    out = df.copy()
    out.columns = range(out.shape[1])  # by position: duplicate headers must not collide
    for position in out.columns:
        if out[position].dtype.kind not in "biufcmM":  # numeric/bool/datetime columns hold no str
            out[position] = out[position].astype(object).map(_neutral)
    out.columns = [_neutral(label) for label in df.columns]
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Neutralised CSV as UTF-8 with a BOM (so Excel shows accents right), CRLF line ends, no index.

    Missing values become empty cells; characters that cannot be encoded (lone surrogates) become "?".
    """
    text = neutralise_formulas(df).to_csv(index=False, lineterminator="\r\n")
    return text.encode("utf-8-sig", errors="replace")


def to_xlsx_bytes(df: pd.DataFrame, sheet_name: str = "scored") -> bytes:
    """Neutralised single-sheet .xlsx; no cell is ever written as a formula; no index.

    Text changes only where Excel forces it (a warning logs how many cells): control characters
    below 0x20 other than tab/LF/CR are removed; text over 32,767 UTF-16 units is cut to that.
    Numbers, bools, dates stay native; timezones dropped (wall-clock kept); NaN/None empty;
    infinities written as text; a CR inside text reads back as LF (XML normalises line ends).
    """
    from openpyxl import Workbook  # imported lazily: CSV-only callers need not pay for it

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_sheet_title(sheet_name))
    changed = [0]
    ws.append([_xlsx_cell(ws, label, changed) for label in df.columns])
    for row in df.itertuples(index=False, name=None):
        ws.append([_xlsx_cell(ws, value, changed) for value in row])
    if changed[0]:
        log.warning("to_xlsx_bytes: %d cell(s) had forbidden characters removed or were truncated", changed[0])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write `df` to a .csv or .xlsx path (chosen by extension), atomically: readers never see half a file."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".csv":
        atomic.write_bytes(path, to_csv_bytes(df))
    elif ext == ".xlsx":
        atomic.write_bytes(path, to_xlsx_bytes(df))
    else:
        raise UserError(
            f"Cannot save results as {path.name}: choose a file name ending in "
            f"{' or '.join(WRITERS_BY_EXTENSION)}."
        )


# ---------------------------------------------------------------------------------------------------------------------
# Helpers


def _neutral(value: object) -> object:
    """Prefix a formula-looking string with "'" so spreadsheet apps show it as text."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _xlsx_cell(ws: object, value: object, changed: list[int]) -> object:
    """Turn one value into what openpyxl should write: a native value, None, or a forced-text cell."""
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, (dt.datetime, dt.time)) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)  # Excel has no timezones; openpyxl refuses aware values
    if _is_finite_number(value) or isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return value
    return _text_cell(ws, str(value), changed)


def _text_cell(ws: object, text: str, changed: list[int]) -> object:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell

    # Strip before neutralising: removing a leading control char could expose "=".
    safe = _fit_excel(_neutral(ILLEGAL_CHARACTERS_RE.sub("", text)))
    if safe != _neutral(text):
        changed[0] += 1
    cell = WriteOnlyCell(ws, value=safe)
    cell.data_type = "s"  # openpyxl marks any str starting with "=" as a formula; force plain text
    return cell


def _fit_excel(text: str) -> str:
    """Cut text to Excel's cell limit without splitting an emoji's surrogate pair."""
    if len(text) * 2 <= EXCEL_MAX_CELL_CHARS:  # cannot exceed the limit even if all astral
        return text
    units = text.encode("utf-16-le")
    if len(units) <= EXCEL_MAX_CELL_CHARS * 2:
        return text
    return units[: EXCEL_MAX_CELL_CHARS * 2].decode("utf-16-le", errors="ignore")


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
