"""Read analysts' spreadsheets (.csv, .tsv, .xlsx, .xls) defensively into pandas DataFrames.

Conventions shared by every format: the first non-empty row is the header; blank header
cells become "column_<n>"; duplicate headers get ".1", ".2" suffixes like pandas; empty
cells are ""; fully empty trailing rows and columns are dropped. CSV/TSV cells stay the
exact strings written; Excel cells keep their native types (numbers, datetimes, bools).
Every problem with the input raises UserError with a message saying how to fix it.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import enum
import io
import re
import warnings
import zipfile
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import pandas as pd

from predictor import calamine_reader, cells, worker
from predictor.errors import UserError

SUPPORTED_EXTENSIONS = (".csv", ".tsv", ".xlsx", ".xls")

# Uploads are held in memory and parsing expands them several times over (Python objects
# per cell), so cap the raw size to keep one upload from exhausting the server's RAM.
# Sizes are in decimal units (1 MB = 1,000,000 bytes) as the browser shows them: Streamlit's uploader counts that
# way (except on Windows), so the page, the CLI and the browser's own refusal all name the same figure.
MB = 1000 * 1000
MAX_TABLE_BYTES = 50 * MB

# An .xlsx is a zip: a few MB can unpack to many GB (a "zip bomb"). Both bounds are checked
# from the zip directory before any parsing. Python's zipfile never inflates a member past
# its declared size, so a lying directory cannot get around them.
MAX_XLSX_UNCOMPRESSED_BYTES = 500 * MB
# Real sheet XML compresses about 5-50x; deflate tops out near 1000x on filler like zeros.
MAX_COMPRESSION_RATIO = 200
# Members smaller than this cannot hurt whatever their ratio (tiny repetitive XML is normal).
RATIO_CHECK_MIN_BYTES = 1024 * 1024

# Excel cells can sit far apart (A1 and XFD1048576), so a small file can still describe a
# huge grid; bound the grid we materialise (about 1M rows x 20 columns).
MAX_CELLS = 20_000_000
MAX_ROWS = 1_048_576  # Excel's last row: a sheet with rows beyond it was not made by a spreadsheet program

# Every upload is read, or refused with a message, within 30 s and 1 GB on our 2-core machine whatever its shape
# (issue 11): the parsing runs in a child process stopped at these limits (start-up, about 0.5 s, included).
READ_LIMITS = worker.Limits(seconds=25, memory_bytes=1000 * MB)

# Encrypted .xlsx files and old .xls files are OLE2/CFB containers, not zips.
CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_MAGIC = b"PK"
CSV_DELIMITERS = ",;\t|"
SNIFF_CHARS = 64 * 1024
SNIFF_BYTES = 1024 * 1024  # how much of a streamed CSV judges its encoding
TEXT_SAMPLE_SIZE = 1000


class SheetChoice(enum.Enum):
    """read_table(sheet=TEXT_SHEET): the sheet holding the reviews, not necessarily the first (an Enum, so it is still
    itself once pickled to the reading process)."""
    TEXT = "the sheet with the longest text"


TEXT_SHEET = SheetChoice.TEXT


def read_table(source: str | Path | bytes, *, filename: str | None = None, sheet: str | SheetChoice | None = None,
               max_bytes: int = MAX_TABLE_BYTES, on_progress: Callable[[worker.Progress], None] | None = None,
               limits: worker.Limits | None = None) -> pd.DataFrame:
    """Read a table from a path or uploaded bytes (`filename` then gives the extension).

    `sheet` picks an Excel sheet by name (default: the first; TEXT_SHEET: the one holding text, and attrs["sheet_note"]
    says which and why); the frame's attrs say which ("sheet"), list them all ("sheets") and count the blank rows
    skipped ("blank_rows_skipped"). The parsing runs in a child process held to `limits` (default READ_LIMITS;
    predictor/worker.py), which calls `on_progress` a few times a second and stops the child if it raises. Raises
    UserError on bad input.
    """
    data, ext, name = _load(source, filename, max_bytes)
    limits = limits or READ_LIMITS
    return worker.run(
        _parse, (data, ext, name, sheet), limits=limits, what=f"Reading {name}", on_progress=on_progress,
        too_slow=f"took longer than {limits.seconds:g} s, so it was stopped: it holds more rows or cells than can "
                 "be read in that time, or cells far away from the data. Delete unused rows and columns, split it "
                 "into smaller files, or save just the needed columns as CSV (much faster to read), and try again.",
        too_big=f"needed more than {_human(limits.memory_bytes)} of memory, so it was stopped. Split the table into "
                "smaller files, or save just the needed columns as CSV, and try again.")


def _parse(data: bytes, ext: str, name: str, sheet: str | SheetChoice | None,
           report: Callable[[int], None]) -> pd.DataFrame:
    """The parsing read_table runs in its child process: CSV/TSV, legacy .xls or .xlsx, by content and extension."""
    if ext in (".csv", ".tsv"):
        return _read_csv(data, name, "\t" if ext == ".tsv" else None, report)
    if _is_legacy_xls(ext, data):
        return _read_xls(data, name, sheet, report)
    return _read_xlsx(data, name, sheet, report)


def other_sheets_hint(df: pd.DataFrame) -> str:
    """For messages about a missing column: which sheet was read, and that others exist ("" for one sheet, or CSV)."""
    sheets = df.attrs.get("sheets") or []
    if len(sheets) < 2:
        return ""
    others = ", ".join(f'"{name}"' for name in sheets if name != df.attrs.get("sheet"))
    return (f' This was sheet "{df.attrs.get("sheet")}"; the file also has {others}: pass --sheet NAME (or pick the '
            "sheet in the page) to read another.")


def blank_rows_sentence(count: int) -> str:
    """What the page and score.py say about read_table's attrs["blank_rows_skipped"]."""
    return (f"{count:,} blank row(s), with no value in any cell, above the header or after the last row were skipped; "
            "every other row is kept, blank rows between the data included.")


def guess_text_column(df: pd.DataFrame) -> str | None:
    """The column whose non-empty values are mostly text, with the longest average length."""
    return _text_column(df)[0]


def _text_column(df: pd.DataFrame) -> tuple[str | None, float]:
    """guess_text_column's column and its texts' average length (0.0 when no column holds text)."""
    best, best_length = None, 0.0
    for position, label in enumerate(df.columns):
        texts = _text_values(df.iloc[:, position])
        if texts:
            length = sum(map(len, texts)) / len(texts)
            if length > best_length:
                best, best_length = label, length
    return best, best_length


def _is_legacy_xls(ext: str, data: bytes) -> bool:
    # A zip named .xls is an .xlsx saved under the wrong name; it is read as what it is.
    return ext == ".xls" and not data.startswith(ZIP_MAGIC)


# ---------------------------------------------------------------------------------------------------------------------
# Loading raw bytes


def _load(source: str | Path | bytes, filename: str | None, max_bytes: int) -> tuple[bytes, str, str]:
    """Return (bytes, lower-case extension, display name) after the checks common to all formats."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not filename:
            raise ValueError("read_table: pass filename= with bytes so the file type is known")
        name, data = Path(filename).name, bytes(source)
        _check_extension(name)
        _check_size(name, len(data), max_bytes)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        name = Path(filename).name if filename else path.name
        data = _read_path(path, name, max_bytes)
    else:
        raise TypeError(f"read_table: source must be a path or bytes, not {type(source).__name__}")
    if not data:
        raise UserError(f"{name} is empty (0 bytes). Choose the file that holds the data, or export it again.")
    return data, Path(name).suffix.lower(), name


def _read_path(path: Path, name: str, max_bytes: int, *, head_only: bool = False) -> bytes:
    """Read a file after checking it exists, has a supported extension and is not too big; with `head_only`, just
    its first `max_bytes`, whatever its size."""
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "was not found"
        raise UserError(f"{path} {what}. Check the path and file name, then try again.")
    _check_extension(name)
    if not head_only:
        _check_size(name, path.stat().st_size, max_bytes)
    try:
        with path.open("rb") as fh:
            # Read at most one byte over the cap: the file may have grown since stat().
            data = fh.read(max_bytes + (0 if head_only else 1))
    except OSError as err:
        raise UserError(
            f"{path} cannot be read ({err.strerror or err}). Check its permissions, or copy it elsewhere."
        ) from None
    if not head_only:
        _check_size(name, len(data), max_bytes)
    return data


def _check_extension(name: str) -> None:
    ext = Path(name).suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        shown = f'the extension "{ext}"' if ext else "no extension"
        raise UserError(
            f"{name} has {shown}, which is not a supported table type. "
            f"Supported: {', '.join(SUPPORTED_EXTENSIONS)}. Save or export the data in one of these formats."
        )


def _check_size(name: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise UserError(
            f"{name} is {_human(size)}, over the {_human(max_bytes)} limit. Split it into smaller files "
            "(or ask whoever runs this tool to raise the limit)."
        )


def _human(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    if size < MB:
        return f"{size / 1000:.1f} kB"
    if size < 1000 * MB:
        return f"{size / MB:.1f} MB"
    return f"{size / (1000 * MB):.1f} GB"


# ---------------------------------------------------------------------------------------------------------------------
# CSV / TSV


def _read_csv(data: bytes, name: str, delimiter: str | None, report: Callable[[int], None]) -> pd.DataFrame:
    """Parse delimited text, every cell kept as the exact string written."""
    if data.startswith((CFB_MAGIC, b"PK\x03\x04")):
        raise UserError(
            f"{name} is an Excel workbook, not text. Rename it to .xlsx (or .xls), or Save As CSV in Excel."
        )
    text, encoding = _decode(data)
    if "\x00" in text:
        raise UserError(
            f"{name} contains NUL characters, so it is not plain text (binary, or UTF-16 without a BOM). "
            "Open it in Excel and Save As \"CSV UTF-8\"."
        )
    sep = delimiter or _sniff_delimiter(text)
    try:
        # header=None: we build the header ourselves so CSV and Excel name columns the same way.
        raw = pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise UserError(f"{name} has no header row: it contains only blank lines. Export the data again.") from None
    except pd.errors.ParserError as err:
        raise _csv_error(name, err) from None
    rows = raw.fillna("").to_numpy(dtype=object).tolist()  # short rows were padded with NaN
    df = _build_frame(*_collect_rows(rows, name, report), name)
    df.attrs["encoding"] = encoding
    return df


def csv_chunks(path: str | Path, rows: int) -> Iterator[tuple[pd.DataFrame, int, int]]:
    """A .csv/.tsv file of any size as frames of up to `rows` rows, each with the bytes read so far and the file's
    size (for progress). Memory stays bounded by `rows`, whatever the file's size, so no size cap applies: this is for
    the command line, on the user's own files; uploads go through read_table.

    The frames are what read_table would give, chunk by chunk: exact strings, the same column names, empty cells "",
    trailing empty rows dropped. The encoding (UTF-8 or cp1252) and delimiter are judged on the first megabyte.
    """
    path = Path(path)
    name = path.name
    data = _read_path(path, name, SNIFF_BYTES, head_only=True)
    if path.suffix.lower() not in (".csv", ".tsv"):
        raise ValueError("csv_chunks reads .csv and .tsv files only")
    if not data:
        raise UserError(f"{name} is empty (0 bytes). Choose the file that holds the data, or export it again.")
    if data.startswith((CFB_MAGIC, b"PK\x03\x04")):
        raise UserError(f"{name} is an Excel workbook, not text. Rename it to .xlsx (or .xls), or Save As CSV in "
                        "Excel.")
    text, encoding = _decode_start(data)
    if "\x00" in text:
        raise UserError(f"{name} contains NUL characters, so it is not plain text (binary, or UTF-16 without a BOM). "
                        "Open it in Excel and Save As \"CSV UTF-8\".")
    sep = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(text)
    size, header, pending = path.stat().st_size, None, []
    with path.open("rb") as fh:
        try:
            reader = pd.read_csv(fh, sep=sep, header=None, dtype=str, keep_default_na=False, chunksize=rows,
                                 encoding=encoding)
            for raw in reader:
                chunk = pending + raw.fillna("").to_numpy(dtype=object).tolist()
                if header is None:
                    header = _column_names(_trim(chunk.pop(0)))
                pending = []
                while chunk and not _trim(chunk[-1]):  # empty rows wait: dropped if nothing follows them
                    pending.insert(0, chunk.pop())
                yield _chunk_frame(chunk, header, name), fh.tell(), size
        except pd.errors.EmptyDataError:
            raise UserError(f"{name} has no header row: it contains only blank lines. Export the data again.") from None
        except pd.errors.ParserError as err:
            raise _csv_error(name, err) from None
        except UnicodeDecodeError:
            raise UserError(f"{name} is not in one encoding throughout (it starts as {encoding} but later is not). "
                            "Open it in Excel and Save As \"CSV UTF-8\".") from None
    if header is None:
        raise UserError(f"{name} has no header row: it contains only blank lines. Export the data again.")


def parquet_chunks(path: str | Path, rows: int) -> Iterator[tuple[pd.DataFrame, int, int]]:
    """A Parquet file of any size as frames of up to `rows` rows, each with the rows read so far and the file's row
    count (for progress). Cells keep Parquet's types; a missing value is "" as in read_table's frames."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "was not found"
        raise UserError(f"{path} {what}. Check the path and file name, then try again.")
    try:
        parquet = pq.ParquetFile(path)
        total, done = parquet.metadata.num_rows, 0
        header = _column_names(list(parquet.schema_arrow.names))
        for batch in parquet.iter_batches(batch_size=rows):
            frame = batch.to_pandas().astype(object)
            frame = frame.where(frame.notna(), "")
            frame.columns = header
            done += len(frame)
            yield frame, done, total
    except (pa.ArrowException, OSError) as err:
        raise UserError(f"{path.name} is not a readable Parquet file ({_short(err)}). Write it again, or export the "
                        "data as CSV.") from None


def _chunk_frame(rows: list[list], header: list[str], name: str) -> pd.DataFrame:
    width = len(header)
    for row in rows:
        if len(_trim(row)) > width:
            raise UserError(f"{name} has a row with cells beyond the header's last column ({width} columns). Give "
                            "every column a header, or remove the stray cells.")
    return pd.DataFrame([list(row[:width]) + [""] * (width - len(row)) for row in rows], columns=header, dtype=object)


def _decode_start(data: bytes) -> tuple[str, str]:
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


def _sniff_delimiter(text: str) -> str:
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


def _csv_error(name: str, err: Exception) -> UserError:
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


# ---------------------------------------------------------------------------------------------------------------------
# XLSX


def _read_xlsx(data: bytes, name: str, sheet: str | None, report: Callable[[int], None]) -> pd.DataFrame:
    """Read one worksheet of an .xlsx, keeping native cell types: through calamine where its scan vouches for the
    workbook (predictor/calamine_reader.py: many times faster, the same frame), else through openpyxl."""
    _check_ooxml_container(data, name)
    with _file_at_fault(name):
        book = calamine_reader.open_workbook(data, MAX_CELLS, MAX_ROWS)
    if book is None:
        return _read_xlsx_openpyxl(data, name, sheet, report)
    try:
        with _file_at_fault(name):
            names = calamine_reader.worksheet_names(book)
            return _read_sheets(names, sheet, name, lambda title: _collect_rows(
                calamine_reader.sheet_rows(book, title), name, report,
                last_row=calamine_reader.last_row_named(data, title)))
    finally:
        book.close()


def _read_xlsx_openpyxl(data: bytes, name: str, sheet: str | None, report: Callable[[int], None]) -> pd.DataFrame:
    """Read one worksheet of an .xlsx with openpyxl, keeping native cell types."""
    wb = _open_xlsx(data, name)
    try:
        with _file_at_fault(name):
            names = [ws.title for ws in wb.worksheets]
            return _read_sheets(names, sheet, name, lambda title: _collect_rows(_sheet_rows(wb[title], name), name,
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

    with _file_at_fault(name), warnings.catch_warnings():
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
            f"{name} would unpack to {_human(total)}, over the {_human(MAX_XLSX_UNCOMPRESSED_BYTES)} limit "
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


# ---------------------------------------------------------------------------------------------------------------------
# XLS


def _read_xls(data: bytes, name: str, sheet: str | None, report: Callable[[int], None]) -> pd.DataFrame:
    """Read one sheet of a legacy .xls with xlrd, keeping native cell types."""
    book = _open_xls(data, name)
    try:
        with _file_at_fault(name):
            names = book.sheet_names()
            return _read_sheets(names, sheet, name, lambda title: _collect_rows(
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
            f"{name} is not a readable .xls workbook ({_short(err)}). Files called .xls that come from websites "
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


# ---------------------------------------------------------------------------------------------------------------------
# Shared frame building


def _read_sheets(names: list[str], sheet: str | SheetChoice | None, name: str,
                 read: Callable[[str], tuple[list[list], int]]) -> pd.DataFrame:
    """The frame of the sheet named (`read(title)` gives its rows and blank rows skipped), of the first sheet, or,
    with TEXT_SHEET, of the sheet whose text column (guess_text_column) holds the longest text on average: a workbook
    whose first sheet is a summary of codes (Q1, Q2) and whose reviews are on the second is read from the second.
    Then attrs["sheet_note"] says which sheet was read and why, and lists the others."""
    if sheet is not TEXT_SHEET or len(names) < 2:
        title = _choose_sheet(names, None if sheet is TEXT_SHEET else sheet, name)
        return _build_frame(*read(title), name, title, names)
    best, column, best_length, first_error = None, None, -1.0, None
    for title in names:
        try:
            frame = _build_frame(*read(title), name, title, names)
        except UserError as err:  # an empty sheet (or one refused) cannot be the one holding the reviews
            first_error = first_error or err
            continue
        text_column, length = _text_column(frame)
        if length > best_length:  # ties keep the earlier sheet
            best, column, best_length = frame, text_column, length
    if best is None:
        raise first_error
    others = ", ".join(f'"{n}"' for n in names if n != best.attrs["sheet"])
    if column is None:
        why = f"the first of {len(names)}: no sheet has a column of text"
    else:
        why = f'its column "{column}" holds the longest text of the {len(names)} sheets'
    best.attrs["sheet_note"] = f'Read sheet "{best.attrs["sheet"]}": {why}. Other sheets: {others}.'
    return best


def _choose_sheet(names: list[str], sheet: str | None, name: str) -> str:
    if not names:
        raise UserError(f"{name} has no worksheets (only charts, or none at all). Add a sheet with the data.")
    if sheet is None:
        return names[0]
    if sheet not in names:
        listed = ", ".join(f'"{n}"' for n in names)
        raise UserError(f'{name} has no sheet named "{sheet}". Sheets in this file: {listed}. Pick one of these.')
    return sheet


def _collect_rows(rows: Iterable[Sequence[object]], name: str, report: Callable[[int], None], *,
                  last_row: int = 0) -> tuple[list[list], int]:
    """(rows kept, blank rows skipped): rows with trailing empty cells trimmed, leading empty rows skipped, trailing
    ones dropped. `last_row` is the last row number the file names when `rows` stops earlier (calamine stops at the
    last value): the rows between count as skipped."""
    kept, cells, seen = [], 0, 0
    for row in rows:
        seen += 1
        row = _trim(row)
        if row or kept:
            kept.append(row)
            report(len(kept))
            cells += len(row)
            if cells > MAX_CELLS:
                raise _too_many_cells(name)
    while kept and not kept[-1]:
        kept.pop()
    return kept, max(seen, last_row) - len(kept)


def _trim(row: Sequence[object]) -> list:
    end = len(row)
    while end and (row[end - 1] is None or row[end - 1] == ""):
        end -= 1
    return list(row[:end])


def _build_frame(rows: list[list], blank_rows: int, name: str, sheet: str | None = None,
                 sheets: list[str] | None = None) -> pd.DataFrame:
    """Make an object-dtype frame: first row is the header, None becomes ""; attrs name the sheet(s) read and count
    the blank rows skipped (rows with no value in any cell, above the header or below the last row), which the page
    and score.py report. A CSV's empty lines are left out by pandas before this, wherever they are, and not counted."""
    if not rows:
        where = f'Sheet "{sheet}" of {name}' if sheet else name
        raise UserError(f"{where} is empty: there is no header row. Put column names in the first row, then the data.")
    width = max(map(len, rows))
    if width * len(rows) > MAX_CELLS:
        raise _too_many_cells(name)
    header = _column_names(rows[0] + [None] * (width - len(rows[0])))
    body = [["" if v is None else v for v in row] + [""] * (width - len(row)) for row in rows[1:]]
    df = pd.DataFrame(body, columns=header, dtype=object)
    df.attrs["blank_rows_skipped"] = blank_rows
    if sheet is not None:
        df.attrs["sheet"] = sheet
        df.attrs["sheets"] = sheets
    return df


def _column_names(header: list) -> list[str]:
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


@contextlib.contextmanager
def _file_at_fault(name: str) -> Iterator[None]:
    """Any failure while parsing an untrusted file is the file's fault: it becomes _damaged's message (a UserError
    passes as it is)."""
    try:
        yield
    except UserError:
        raise
    except Exception as err:
        raise _damaged(name, err) from None


def _damaged(name: str, err: Exception) -> UserError:
    from defusedxml import DefusedXmlException

    root = _root_cause(err)
    if isinstance(root, DefusedXmlException):
        return UserError(
            f"Refused to read {name}: its XML declares entities or a DTD ({_short(root)}), which real Excel "
            "files never do and which can be used to attack the server. Open it in Excel and Save As .xlsx."
        )
    return UserError(
        f"Could not read {name}: the workbook looks damaged or is not a real Excel file ({_short(root)}). "
        "Open it in Excel, use File > Save As > Excel Workbook (.xlsx), and try again."
    )


def _root_cause(err: BaseException) -> BaseException:
    """openpyxl wraps parse errors in vague ones; the innermost error says what actually failed."""
    for _ in range(10):  # bounded: cause chains can in theory loop
        inner = err.__cause__ or err.__context__
        if inner is None:
            break
        err = inner
    return err


def _short(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}"
    return text if len(text) <= 200 else text[:197] + "..."


# ---------------------------------------------------------------------------------------------------------------------
# Text column guess


def _text_values(column: pd.Series) -> list[str]:
    """Text values of a column if most of its non-empty values are text (predictor/cells.py), else []."""
    non_empty, texts = 0, []
    for value in column:
        if cells.is_blank(value):
            continue
        non_empty += 1
        if cells.is_text(value):
            texts.append(value)
        if non_empty >= TEXT_SAMPLE_SIZE:  # a sample is enough and keeps big frames fast
            break
    return texts if non_empty and len(texts) * 2 > non_empty else []
