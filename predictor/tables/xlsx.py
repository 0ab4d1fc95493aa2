"""Excel workbooks (.xlsx): the zip checked against zip bombs first, then read by calamine where its scan vouches for
the workbook (predictor/tables/calamine_reader.py), else by openpyxl, cell types kept.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from typing import Callable, Iterable

from predictor.errors import UserError
from predictor.tables import calamine_reader
from predictor.tables.damaged import file_at_fault
from predictor.tables.files import CFB_MAGIC, MB, ZIP_MAGIC, human
from predictor.tables.frames import MAX_CELLS, Table, collect_rows
from predictor.tables.sheets import read_sheets


# An .xlsx is a zip: a few MB can unpack to many GB (a "zip bomb"). Both bounds are checked
# from the zip directory before any parsing. Python's zipfile never inflates a member past
# its declared size, so a lying directory cannot get around them.
MAX_XLSX_UNCOMPRESSED_BYTES = 500 * MB
# Real sheet XML compresses about 5-50x; deflate tops out near 1000x on filler like zeros.
MAX_COMPRESSION_RATIO = 200
# Members smaller than this cannot hurt whatever their ratio (tiny repetitive XML is normal).
RATIO_CHECK_MIN_BYTES = 1024 * 1024
MAX_ROWS = 1_048_576  # Excel's last row: a sheet with rows beyond it was not made by a spreadsheet program


def read_xlsx(data: bytes, name: str, sheet: str | None, report: Callable[[int], None]) -> Table:
    """Read one worksheet of an .xlsx, keeping native cell types: through calamine where its scan vouches for the
    workbook (calamine_reader.py: many times faster, the same frame), else through openpyxl."""
    _check_ooxml_container(data, name)
    with file_at_fault(name):
        book = calamine_reader.open_workbook(data, MAX_CELLS, MAX_ROWS)
    if book is None:
        return read_xlsx_openpyxl(data, name, sheet, report)
    try:
        with file_at_fault(name):
            names = calamine_reader.worksheet_names(book)
            return read_sheets(names, sheet, name, lambda title: collect_rows(
                calamine_reader.sheet_rows(book, title), name, report,
                last_row=calamine_reader.last_row_named(data, title)))
    finally:
        book.close()


def read_xlsx_openpyxl(data: bytes, name: str, sheet: str | None, report: Callable[[int], None]) -> Table:
    """Read one worksheet of an .xlsx with openpyxl, keeping native cell types."""
    wb = _open_xlsx(data, name)
    try:
        with file_at_fault(name):
            names = [ws.title for ws in wb.worksheets]
            return read_sheets(names, sheet, name, lambda title: collect_rows(_sheet_rows(wb[title], name), name,
                                                                              report))
    finally:
        wb.close()


def _sheet_rows(ws: object, name: str) -> Iterable[list]:
    """A read-only worksheet's rows as lists of values, each as long as its last cell that holds a value.

    openpyxl's own iter_rows pads every row to its last cell present, empty or not: one empty cell in column XFD
    on each of a million rows made 16,384 values a row and 23 minutes for a 5 MB file. Its parser yields only the
    cells present, so the work follows the size of the XML, whatever the shape of the sheet. Rows the file skips
    come back empty, and a row repeated or out of order is skipped, as openpyxl does.
    """
    from openpyxl.worksheet._reader import WorkSheetParser  # no public API reads rows without padding them

    book = ws.parent
    with ws._get_source() as source:
        parser = WorkSheetParser(source, ws._shared_strings, data_only=book.data_only, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        expected = 1
        for index, present in parser.parse():
            if index > MAX_ROWS:
                raise UserError(f"{name} has rows beyond row {MAX_ROWS:,}, the last row a spreadsheet can have, so "
                                "it was not saved by Excel or LibreOffice. Open it in one of them and save it again, "
                                "or export the data as CSV.")
            if index < expected:
                continue
            yield from ([] for _ in range(expected, index))
            expected = index + 1
            values = {cell["column"]: cell["value"] for cell in present if cell["value"] not in (None, "")}
            row = [None] * max(values, default=0)
            for column, value in values.items():
                row[column - 1] = value
            yield row


def _open_xlsx(data: bytes, name: str) -> object:
    """Open an .xlsx read-only after checking the container is a sane, safe zip."""
    _check_ooxml_container(data, name)
    _require_defusedxml()
    import openpyxl  # imported lazily: CSV-only callers need not pay for it

    with file_at_fault(name), warnings.catch_warnings():
        # openpyxl warns about styles/extensions it ignores; irrelevant to the data.
        warnings.simplefilter("ignore", UserWarning)
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)


def _check_ooxml_container(data: bytes, name: str) -> None:
    """Reject encrypted, non-zip, corrupt and zip-bomb files before openpyxl parses anything."""
    if data.startswith(CFB_MAGIC):
        raise UserError(
            f"{name} looks password-protected, or is an old-format Excel file renamed .xlsx: it is not a "
            "plain .xlsx workbook. Open it in Excel, remove the password (File > Info > Protect Workbook > "
            "Encrypt with Password, clear it), then File > Save As > Excel Workbook (.xlsx)."
        )
    if not data.startswith(ZIP_MAGIC):
        raise UserError(
            f"{name} is not a valid Excel workbook (an .xlsx file is a zip archive; this one is not, so it "
            "may be a text or CSV file renamed). Open it in Excel and Save As Excel Workbook (.xlsx), or give it "
            "its real extension."
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as err:
        raise UserError(
            f"{name} is corrupt or incomplete ({err}), maybe a partial download or upload. "
            "Copy or download it again, or open it in Excel and Save As .xlsx."
        ) from None
    _check_inflation(members, name)


def _check_inflation(members: list[zipfile.ZipInfo], name: str) -> None:
    """Refuse zips that would unpack far beyond their size (zip bombs)."""
    total = sum(m.file_size for m in members)
    if total > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise UserError(
            f"{name} would unpack to {human(total)}, over the {human(MAX_XLSX_UNCOMPRESSED_BYTES)} limit "
            "for a workbook (this is how 'zip bombs' look). Split the data into smaller workbooks or save it as CSV."
        )
    for m in members:
        if m.file_size > RATIO_CHECK_MIN_BYTES and m.file_size > MAX_COMPRESSION_RATIO * max(m.compress_size, 1):
            raise UserError(
                f"{name} contains a part ({m.filename}) that would unpack {m.file_size // max(m.compress_size, 1)}x "
                f"larger than stored, far beyond real spreadsheets (over {MAX_COMPRESSION_RATIO}x; this is how "
                "'zip bombs' look). Re-save it from Excel as .xlsx, or export it as CSV."
            )


def _require_defusedxml() -> None:
    """openpyxl parses XML safely (no entity expansion, XXE) only when defusedxml is installed."""
    from openpyxl.xml import DEFUSEDXML

    if not DEFUSEDXML:
        raise UserError(
            "Reading .xlsx files is disabled because the defusedxml package is missing (or OPENPYXL_DEFUSEDXML "
            "is not 'True'), so workbook XML could not be parsed safely. Run: pip install defusedxml"
        )
