"""Hostile and careless input files, generated small by the tests that use them (nothing here is stored)."""
from __future__ import annotations

import io
import zipfile
from typing import Iterable

import openpyxl

SHEET_PART = "xl/worksheets/sheet1.xml"
SHEET_OPEN = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
SHEET_CLOSE = b"</sheetData></worksheet>"


def xlsx_bytes(sheets: dict) -> bytes:
    """An .xlsx whose sheets are {title: [row, ...]} (rows appended in order), as Excel would save it."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def xlsx_with_sheet_xml(rows_xml: Iterable[bytes]) -> bytes:
    """A real workbook whose first sheet's XML is replaced by `rows_xml` (streamed, so it may be large)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes({"reviews": [["review"]]}))) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename != SHEET_PART:
                dst.writestr(item, src.read(item))
        with dst.open(SHEET_PART, "w", force_zip64=True) as sheet:
            sheet.write(SHEET_OPEN)
            for chunk in rows_xml:
                sheet.write(chunk)
            sheet.write(SHEET_CLOSE)
    return out.getvalue()


def text_cell(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def far_empty_cells(rows: int) -> bytes:
    """A header, then one empty cell in column XFD (the last one) on each of `rows` rows: tiny to store, and
    openpyxl's iter_rows pads each row to 16,384 values (a million rows took 23 minutes)."""
    header = b'<row r="1">' + text_cell("A1", "review") + b"</row>"
    body = (f'<row r="{i}"><c r="XFD{i}"/></row>'.encode() for i in range(2, rows + 2))
    return xlsx_with_sheet_xml(_batched(header, body))


def rows_beyond_excel(last_row: int = 1_048_577) -> bytes:
    """A header, one review, and a review on a row past Excel's last one: no spreadsheet program writes that."""
    return xlsx_with_sheet_xml([
        b'<row r="1">' + text_cell("A1", "review") + b"</row>",
        b'<row r="2">' + text_cell("A2", "good film") + b"</row>",
        f'<row r="{last_row}">'.encode() + text_cell(f"A{last_row}", "far away") + b"</row>"])


def many_numbered_rows(rows: int) -> bytes:
    """A header and `rows` rows of a number and a short text: slow to parse cell by cell, but well formed."""
    header = b'<row r="1">' + text_cell("A1", "id") + text_cell("B1", "review") + b"</row>"
    body = (f'<row r="{i}"><c r="A{i}"><v>{i}</v></c>'.encode() + text_cell(f"B{i}", "ok") + b"</row>"
            for i in range(2, rows + 2))
    return xlsx_with_sheet_xml(_batched(header, body))


def numbers_only(rows: int) -> bytes:
    """A header and `rows` rows of one number each: the most rows a few MB of workbook can hold."""
    header = b'<row r="1">' + text_cell("A1", "review") + b"</row>"
    body = (f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>'.encode() for i in range(2, rows + 2))
    return xlsx_with_sheet_xml(_batched(header, body))


def tiny_rows_csv(rows: int) -> bytes:
    """A header and `rows` one-character rows: a few bytes a row on disk, a few hundred in memory once parsed."""
    return b"review\n" + b"a\n" * rows


def _batched(first: bytes, rest: Iterable[bytes], size: int = 10_000) -> Iterable[bytes]:
    yield first
    batch = []
    for item in rest:
        batch.append(item)
        if len(batch) == size:
            yield b"".join(batch)
            batch = []
    yield b"".join(batch)


def endless_reading(report) -> None:
    """A reading that counts rows and never finishes, whatever the CPU's speed (run by predictor.worker in a child
    process, which imports it by name from this folder)."""
    import time

    rows = 0
    while True:
        rows += 1_000
        report(rows)
        time.sleep(0.01)
