"""Delimited text (.csv, .tsv): the encoding and the delimiter judged from the bytes, every cell kept as the exact
string written.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import re
from typing import Callable

import pandas as pd

from predictor.errors import UserError
from predictor.tables.files import CFB_MAGIC
from predictor.tables.frames import Table, build_frame, collect_rows


CSV_DELIMITERS = ",;\t|"
SNIFF_CHARS = 64 * 1024


def read_csv(data: bytes, name: str, delimiter: str | None, report: Callable[[int], None]) -> Table:
    """Parse delimited text, every cell kept as the exact string written."""
    text, encoding = text_of(data, name, _decode)
    sep = delimiter or sniff_delimiter(text)
    try:
        # header=None: we build the header ourselves so CSV and Excel name columns the same way.
        raw = pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise UserError(f"{name} has no header row: it contains only blank lines. Export the data again.") from None
    except pd.errors.ParserError as err:
        raise csv_error(name, err) from None
    rows = raw.fillna("").to_numpy(dtype=object).tolist()  # short rows were padded with NaN
    frame, facts = build_frame(*collect_rows(rows, name, report), name)
    return Table(frame, dataclasses.replace(facts, encoding=encoding))


def text_of(data: bytes, name: str, decode: Callable[[bytes], tuple[str, str]]) -> tuple[str, str]:
    """(text, encoding) of `data` as `decode` reads it, refused when it is a workbook or binary, not delimited text."""
    if data.startswith((CFB_MAGIC, b"PK\x03\x04")):
        raise UserError(f"{name} is an Excel workbook, not text. Rename it to .xlsx (or .xls), or Save As CSV in "
                        "Excel.")
    text, encoding = decode(data)
    if "\x00" in text:
        raise UserError(f"{name} contains NUL characters, so it is not plain text (binary, or UTF-16 without a BOM). "
                        "Open it in Excel and Save As \"CSV UTF-8\".")
    return text, encoding


def decode_start(data: bytes) -> tuple[str, str]:
    """The start of a file decoded, and the encoding to read the rest with: UTF-8 (a character cut at the end of
    the sample is fine), else cp1252, else latin-1, as _decode judges a whole file."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return codecs.getincrementaldecoder("utf-8-sig")().decode(data, final=False), "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _decode(data: bytes) -> tuple[str, str]:
    """Decode text, trying the encodings spreadsheet tools commonly write, most specific first."""
    encodings = ["utf-8-sig"]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings.append("utf-16")
    for encoding in encodings + ["cp1252"]:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"  # latin-1 maps every byte, so it cannot fail


def sniff_delimiter(text: str) -> str:
    """Guess the delimiter among , ; tab | from the first chunk; ',' when unsure."""
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rindex("\n")]  # a cut-off last line would skew the counts
    try:
        found = csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        return ","
    # The Sniffer can be fooled by punctuation inside cells; a real delimiter is in the header.
    return found if found in sample.split("\n", 1)[0] else ","


def csv_error(name: str, err: Exception) -> UserError:
    """Explain a pandas ParserError in spreadsheet terms (rows counted from 1, header included)."""
    detail = str(err).strip().replace("Error tokenizing data. C error: ", "")
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", detail)
    unclosed = re.search(r"EOF inside string starting at row (\d+)", detail)
    if fields:
        expected, row, saw = fields.groups()
        problem = f"line {row} has {saw} cells but the header has {expected}"
    elif unclosed:  # pandas counts this one from 0
        problem = f"a quoted cell starting at line {int(unclosed.group(1)) + 1} is never closed"
    else:
        problem = detail
    return UserError(
        f"{name} is not a well-formed CSV: {problem}. Usually a cell contains the delimiter or a stray "
        "quote without being quoted. Fix that line, or open the file in Excel and Save As CSV again."
    )
