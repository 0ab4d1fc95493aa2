"""Files of any size read in chunks for the command line (score.py), memory bounded by the chunk, not the file."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pandas as pd

from predictor.errors import UserError
from predictor.tables.delimited import csv_error, decode_start, sniff_delimiter, text_of
from predictor.tables.files import read_path, short
from predictor.tables.frames import column_names, trim


SNIFF_BYTES = 1024 * 1024  # how much of a streamed CSV judges its encoding


def csv_chunks(path: str | Path, rows: int) -> Iterator[tuple[pd.DataFrame, int, int]]:
    """A .csv/.tsv file of any size as frames of up to `rows` rows, each with the bytes read so far and the file's
    size (for progress). Memory stays bounded by `rows`, whatever the file's size, so no size cap applies: this is for
    the command line, on the user's own files; uploads go through read_table.

    The frames are what read_table would give, chunk by chunk: exact strings, the same column names, empty cells "",
    trailing empty rows dropped. The encoding (UTF-8 or cp1252) and delimiter are judged on the first megabyte.
    """
    path = Path(path)
    name = path.name
    data = read_path(path, name, SNIFF_BYTES, head_only=True)
    if path.suffix.lower() not in (".csv", ".tsv"):
        raise ValueError("csv_chunks reads .csv and .tsv files only")
    if not data:
        raise UserError(f"{name} is empty (0 bytes). Choose the file that holds the data, or export it again.")
    text, encoding = text_of(data, name, decode_start)
    sep = "\t" if path.suffix.lower() == ".tsv" else sniff_delimiter(text)
    size, header, pending = path.stat().st_size, None, []
    with path.open("rb") as fh:
        try:
            reader = pd.read_csv(fh, sep=sep, header=None, dtype=str, keep_default_na=False, chunksize=rows,
                                 encoding=encoding)
            for raw in reader:
                chunk = pending + raw.fillna("").to_numpy(dtype=object).tolist()
                if header is None:
                    header = column_names(trim(chunk.pop(0)))
                pending = []
                while chunk and not trim(chunk[-1]):  # empty rows wait: dropped if nothing follows them
                    pending.insert(0, chunk.pop())
                yield _chunk_frame(chunk, header, name), fh.tell(), size
        except pd.errors.EmptyDataError:
            raise UserError(f"{name} has no header row: it contains only blank lines. Export the data again.") from None
        except pd.errors.ParserError as err:
            raise csv_error(name, err) from None
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
        header = column_names(list(parquet.schema_arrow.names))
        for batch in parquet.iter_batches(batch_size=rows):
            frame = batch.to_pandas().astype(object)
            frame = frame.where(frame.notna(), "")
            frame.columns = header
            done += len(frame)
            yield frame, done, total
    except (pa.ArrowException, OSError) as err:
        raise UserError(f"{path.name} is not a readable Parquet file ({short(err)}). Write it again, or export the "
                        "data as CSV.") from None


def _chunk_frame(rows: list[list], header: list[str], name: str) -> pd.DataFrame:
    width = len(header)
    for row in rows:
        if len(trim(row)) > width:
            raise UserError(f"{name} has a row with cells beyond the header's last column ({width} columns). Give "
                            "every column a header, or remove the stray cells.")
    return pd.DataFrame([list(row[:width]) + [""] * (width - len(row)) for row in rows], columns=header, dtype=object)
