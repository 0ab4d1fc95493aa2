"""Loading a table's raw bytes: the checks every format shares (the file exists, has a supported extension, is not
too big, is not empty), and the words sizes and errors take in messages.
"""

from __future__ import annotations

from pathlib import Path

from predictor.errors import UserError


SUPPORTED_EXTENSIONS = (".csv", ".tsv", ".xlsx", ".xls")

# Uploads are held in memory and parsing expands them several times over (Python objects
# per cell), so cap the raw size to keep one upload from exhausting the server's RAM.
# Sizes are in decimal units (1 MB = 1,000,000 bytes) as the browser shows them: Streamlit's uploader counts that
# way (except on Windows), so the page, the CLI and the browser's own refusal all name the same figure.
MB = 1000 * 1000
MAX_TABLE_BYTES = 50 * MB

# Encrypted .xlsx files and old .xls files are OLE2/CFB containers, not zips.
CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_MAGIC = b"PK"


def load(source: str | Path | bytes, filename: str | None, max_bytes: int) -> tuple[bytes, str, str]:
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
        data = read_path(path, name, max_bytes)
    else:
        raise TypeError(f"read_table: source must be a path or bytes, not {type(source).__name__}")
    if not data:
        raise UserError(f"{name} is empty (0 bytes). Choose the file that holds the data, or export it again.")
    return data, Path(name).suffix.lower(), name


def read_path(path: Path, name: str, max_bytes: int, *, head_only: bool = False) -> bytes:
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
            f"{name} is {human(size)}, over the {human(max_bytes)} limit. Split it into smaller files "
            "(or ask whoever runs this tool to raise the limit)."
        )


def human(size: int) -> str:
    if size < 1000:
        return f"{size} bytes"
    if size < MB:
        return f"{size / 1000:.1f} kB"
    if size < 1000 * MB:
        return f"{size / MB:.1f} MB"
    return f"{size / (1000 * MB):.1f} GB"


def short(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}"
    return text if len(text) <= 200 else text[:197] + "..."
