"""Legacy Excel workbooks (.xls) read with xlrd, each cell given as openpyxl would give the same cell in an .xlsx."""

from __future__ import annotations

import io
from typing import Callable, Sequence

from predictor.errors import UserError
from predictor.tables.damaged import file_at_fault
from predictor.tables.files import short
from predictor.tables.frames import Table, collect_rows
from predictor.tables.sheets import read_sheets


def read_xls(data: bytes, name: str, sheet: str | None, report: Callable[[int], None]) -> Table:
    """Read one sheet of a legacy .xls with xlrd, keeping native cell types."""
    book = _open_xls(data, name)
    try:
        with file_at_fault(name):
            names = book.sheet_names()
            return read_sheets(names, sheet, name, lambda title: collect_rows(
                (_xls_row(row, book.datemode) for row in book.sheet_by_name(title).get_rows()), name, report))
    finally:
        book.release_resources()


def _open_xls(data: bytes, name: str) -> object:
    try:
        import xlrd
    except ImportError:
        raise UserError(
            f"Reading old-format .xls files like {name} needs the xlrd package. Run: pip install \"xlrd>=2\" "
            "(or open the file in Excel and Save As .xlsx)."
        ) from None
    try:
        # xlrd writes warnings to stdout by default; keep them out of the app's output.
        return xlrd.open_workbook(file_contents=data, on_demand=True, logfile=io.StringIO())
    except Exception as err:  # any parse failure of an untrusted file is the file's fault
        if "encrypt" in str(err).lower() or "EncryptedPackage".encode("utf-16-le") in data:
            raise UserError(
                f"{name} is password-protected. Open it in Excel, remove the password (File > Info > Protect "
                "Workbook > Encrypt with Password, clear it), save, and try again."
            ) from None
        raise UserError(
            f"{name} is not a readable .xls workbook ({short(err)}). Files called .xls that come from websites "
            "are often HTML or XML in disguise. Open it in Excel and Save As Excel Workbook (.xlsx) or CSV."
        ) from None


def _xls_row(cells: Sequence[object], datemode: int) -> list:
    return [_xls_value(cell, datemode) for cell in cells]


def _xls_value(cell: object, datemode: int) -> object:
    """Convert an xlrd cell to the Python value openpyxl would give for the same cell."""
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate.xldate_as_datetime(cell.value, datemode)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return cell.value
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(cell.value, "#ERROR")
    if cell.ctype == xlrd.XL_CELL_NUMBER and cell.value.is_integer() and abs(cell.value) < 2**53:
        return int(cell.value)  # .xls stores every number as a float; openpyxl gives ints for whole numbers
    return cell.value
