"""Read an .xlsx through python-calamine (Rust) when a scan of its XML shows calamine gives today's frame safely.

Why calamine: openpyxl parses cell by cell in Python. In issue 22 the sparse-grid workbook (one empty cell in column
XFD on each of 1,048,570 rows) took 17.5 s from the command line against a 25 s limit, and Excel's largest real sheet
(1,048,575 x 2) was refused at 25 s. calamine parses the same XML in Rust, many times faster.

Why a scan first: calamine builds each sheet as a dense grid, rows x columns of the area holding values (32 bytes a
cell), before handing over a single row. Two values, in A1 and XFD1048576, make it ask for 550 GB and abort the whole
process (tried). So before calamine sees a workbook, every part of it is scanned with byte searches (C speed, no Python
per cell where it can be helped) for the farthest cell that may hold a value; calamine reads the workbook only when
that bound is within tables.MAX_CELLS and tables.MAX_ROWS. Anything the scan cannot vouch for goes to openpyxl, the
reader used until now, with all its checks:

- a cell without a plain `r="A1"` reference first (positional cells, namespace prefixes, odd spacing, entities);
- error cells (`t="e"`): calamine gives "" where openpyxl gives "#N/A", and the scorer flags them differently;
- a part that is not 8-bit text (UTF-16), or that names a row past Excel's last one (openpyxl refuses it at once);
- a DTD or entity declaration (openpyxl's defusedxml refuses it, saying it is an attack).

Cells are converted to what openpyxl gives: a whole number under 2**53 is an int (calamine gives every number as a
float). One difference is kept on purpose, calamine's: a date-time at exactly midnight comes back as a
datetime.date, not a datetime.datetime, so a date column stays a date column (and an export shows no "0:00:00").
tests/test_tables.py reads every fixture workbook both ways and compares the frames.
"""
from __future__ import annotations

import io
import re
import zipfile
from typing import Iterator

# A cell start that is not `<c r="` followed by a plain reference and a closing quote.
_ODD_CELL = re.compile(rb'<c[>/\t\r\n]|<c (?!r="[A-Z]{1,3}[0-9]{1,7}")|<c r="[^"]*"[^>]*\sr\s*=')
_PREFIXED_CELL = re.compile(rb"<[A-Za-z_][\w.-]*:c[\s>/]")
_ROW_PAST_A_MILLION = re.compile(rb'\sr="[A-Z]{0,3}([0-9]{7,})"')
_LAST_ROW = re.compile(rb'<row r="([0-9]+)"')
_ERROR_CELL = re.compile(rb'\st="e"')


def open_workbook(data: bytes, max_cells: int, max_rows: int) -> object | None:
    """The workbook opened by calamine, or None when openpyxl must read it (see the module's docstring)."""
    import python_calamine

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for member in zf.infolist():
            if not _safe_part(zf.read(member), max_cells, max_rows):
                return None
    return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))


def worksheet_names(book: object) -> list[str]:
    """The worksheets' names in order, chart sheets left out (as openpyxl's `worksheets`)."""
    import python_calamine

    return [sheet.name for sheet in book.sheets_metadata if sheet.typ == python_calamine.SheetTypeEnum.WorkSheet]


def sheet_rows(book: object, title: str) -> Iterator[list]:
    """The sheet's rows from row 1 as lists of values (None for an empty cell), as xlsx._sheet_rows gives them,
    up to the last row holding a value."""
    sheet = book.get_sheet_by_name(title)
    first_row, first_column = sheet.start if sheet.height else (0, 0)
    yield from ([] for _ in range(first_row))
    pad = [None] * first_column
    for row in sheet.iter_rows():
        yield pad + [_value(value) for value in row]


def last_row_named(data: bytes, title: str) -> int:
    """The last row number the sheet's XML names, rows of empty cells included (calamine's grid stops at the last
    value), so the blank rows after the data can be counted; 0 when the sheet's part cannot be found."""
    from defusedxml import ElementTree

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    relations = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
            return 0
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        ids = {sheet.get("name"): sheet.get(f"{relations}id") for sheet in book.iter(f"{main}sheet")}
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        targets = {rel.get("Id"): rel.get("Target") or "" for rel in rels}
        target = targets.get(ids.get(title), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if part not in names:
            return 0
        xml = zf.read(part)
    found = _LAST_ROW.search(xml, max(0, xml.rfind(b"<row ")))
    return int(found.group(1)) if found else 0


def _value(value: object) -> object:
    if value == "" and isinstance(value, str):
        return None
    if type(value) is float and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _safe_part(xml: bytes, max_cells: int, max_rows: int) -> bool:
    """True when calamine's grid for this zip part is surely within bounds and its cells read as openpyxl's would."""
    if b"<" not in xml:
        return True  # not XML (an image, a binary part): calamine reads no cells from it
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:
        return False  # refused by openpyxl's defusedxml with a message saying why; calamine only calls it damaged
    if b"\x00" in xml or _PREFIXED_CELL.search(xml) or _ODD_CELL.search(xml) or _ERROR_CELL.search(xml):
        return False
    if any(int(row) > max_rows for row in _ROW_PAST_A_MILLION.findall(xml)):
        return False
    rows, columns = _farthest_value(xml)
    return rows <= max_rows and rows * columns <= max_cells


def _farthest_value(xml: bytes) -> tuple[int, int]:
    """(last row, last column) of the cells that may hold a value: any cell but an empty `<c r="..."/>`.

    Searched longest references first, so the common case (a few letters, rows in the thousands) costs a few
    passes over the bytes, not a Python step per cell.
    """
    columns = 0
    for letters in (3, 2, 1):
        found = re.findall(rb'<c r="([A-Z]{%d})[0-9]+"[^>]*(?<!/)>' % letters, xml)
        if found:
            columns = max(_column_number(ref) for ref in set(found))
            break
    rows = 0
    for digits in range(7, 0, -1):
        found = re.findall(rb'<c r="[A-Z]+([0-9]{%d})"[^>]*(?<!/)>' % digits, xml)
        if found:
            rows = max(map(int, set(found)))
            break
    return rows, columns


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number
