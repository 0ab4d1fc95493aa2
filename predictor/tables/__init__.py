"""Read analysts' spreadsheets (.csv, .tsv, .xlsx, .xls) defensively into pandas DataFrames, and write scored tables
back (writing.py: .csv and .xlsx that are safe to open in Excel).

Conventions shared by every format: the first non-empty row is the header; blank header cells become "column_<n>";
duplicate headers get ".1", ".2" suffixes like pandas; empty cells are ""; fully empty trailing rows and columns are
dropped. CSV/TSV cells stay the exact strings written; Excel cells keep their native types (numbers, datetimes, bools).
Every problem with the input raises UserError with a message saying how to fix it.

One module a job: files.py (the raw bytes and the checks every format shares), delimited.py (CSV/TSV), xlsx.py
(workbooks, their zip-bomb guards, calamine_reader.py or openpyxl), xls.py (legacy workbooks), damaged.py (a workbook
that fails to parse), frames.py (rows to a frame, and the Facts found beside it), sheets.py (which sheet),
text_column.py (which column holds the text), reading.py (read and read_table: all of it in a child process held to
limits) and stream.py (files of any size in chunks, for the command line); writing.py writes, and callers import it
as a module (`from predictor.tables import writing`). This module gives the names readers use.
"""

from predictor.tables.files import CFB_MAGIC, MAX_TABLE_BYTES, MB, SUPPORTED_EXTENSIONS
from predictor.tables.frames import MAX_CELLS, Facts, Table, blank_rows_sentence
from predictor.tables.reading import READ_LIMITS, read, read_table
from predictor.tables.sheets import TEXT_SHEET, SheetChoice, other_sheets_hint
from predictor.tables.stream import csv_chunks, parquet_chunks
from predictor.tables.text_column import guess_text_column
from predictor.tables.xlsx import MAX_COMPRESSION_RATIO, MAX_ROWS, MAX_XLSX_UNCOMPRESSED_BYTES

__all__ = ["CFB_MAGIC", "MAX_CELLS", "MAX_COMPRESSION_RATIO", "MAX_ROWS", "MAX_TABLE_BYTES",
           "MAX_XLSX_UNCOMPRESSED_BYTES", "MB", "READ_LIMITS", "SUPPORTED_EXTENSIONS", "TEXT_SHEET", "Facts",
           "SheetChoice", "Table", "blank_rows_sentence", "csv_chunks", "guess_text_column", "other_sheets_hint",
           "parquet_chunks", "read", "read_table"]
