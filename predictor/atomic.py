"""Writing files and folders so that a reader sees the old version or the new one, never half of either.

Both work the same way: write beside the target (same folder, so the same filesystem), then rename over it; a rename
within one filesystem is atomic. Used for exported tables, saved models and converted weights.
"""
import contextlib
import os
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO, Iterator

from predictor.errors import UserError


def write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary sibling file; raises UserError when the disk or folder refuses."""
    with replacing(path) as fh:
        fh.write(data)


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write `path`'s new content into, bit by bit; it replaces `path` when the block ends, and is
    removed if the block fails or is interrupted, so `path` is never half-written. Raises UserError when the disk or
    folder refuses."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise UserError(f"Cannot save {path.name}: the folder {folder} does not exist. Create it or pick another.")
    temp = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    created = False
    try:
        # O_EXCL: never clobber someone else's file; mode 0o666 lets the umask decide, like open().
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        created = True
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, path)
    except BaseException as err:
        if created:
            with contextlib.suppress(OSError):
                temp.unlink()
        if isinstance(err, OSError):
            raise UserError(
                f"Cannot save {path}: {err.strerror or err}. Close the file if it is open in Excel, "
                "check you may write to that folder and that the disk has space, then try again."
            ) from None
        raise


def staging_dir(target: Path, purpose: str) -> Path:
    """A new hidden folder beside `target` to build its next version in, for replace_dir. Created with mode 0o777 less
    the umask, like mkdir (usually 0755): tempfile.mkdtemp makes 0700, and the model folders moved into place from it
    were then unreadable to the other users of a shared models folder (issue 22)."""
    target = Path(target)
    while True:
        folder = target.parent / f".{target.name}.{purpose}-{secrets.token_hex(6)}"
        try:
            folder.mkdir(mode=0o777)
            return folder
        except FileExistsError:  # never reuse someone else's folder
            continue


def replace_dir(new: Path, target: Path) -> None:
    """Move folder `new` to `target`, swapping out an existing `target` so that one of the two is always whole."""
    new, target = Path(new), Path(target)
    if not target.exists():
        new.rename(target)
        return
    old = target.with_name(f".{target.name}.replaced-{os.getpid()}-{secrets.token_hex(3)}")
    target.rename(old)
    try:
        new.rename(target)
    except BaseException:
        old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)
