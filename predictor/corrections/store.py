"""Analysts' corrections of a model's labels ("the right label is X"), kept in a SQLite file (merged into training
rows by predictor/corrections/merge.py).

Where: one file, `corrections.sqlite`, in the models folder beside the model folders, never inside one. Retraining a
model with --force replaces its folder wholesale (model_folder.staged), and the corrections made on it must outlive
that. SQLite keeps two companion files beside it while in use (`corrections.sqlite-wal`, `-shm`): they belong to the
database, so move or back up the three together, with the page and train.py stopped.

Why SQLite and how it is used, so that nothing is ever lost:

- WAL mode: readers never block the writer nor the writer the readers, so the page's counts and downloads keep
  working while another session saves.
- Every write is one `BEGIN IMMEDIATE` transaction holding one correction. IMMEDIATE takes the write lock at the start,
  so a second writer waits for it (the busy timeout, BUSY_TIMEOUT_S) instead of failing with "database is locked", as a
  read-then-write transaction can in WAL mode. A process killed mid-write leaves the whole row or nothing.
- synchronous=FULL: in WAL mode NORMAL survives a crashed process but may drop the last commits on a power cut or an
  OS crash; FULL syncs each commit to disk. A correction is a person's minute of work and they come a few a minute,
  so the millisecond or so per commit is nothing to pay.
- One connection per call: a sqlite3 connection must not be shared between threads, and Streamlit runs one thread per
  browser session, so a store is safe to share (st.cache_resource) and cheap to make.
- The layout's version is in `PRAGMA user_version`; a file from a newer version of this code is refused, and one from
  an older version is brought up to date in place, in one transaction, every correction kept (1 -> 2: which
  suggestion, if any, proposed the row: `suggested_by`).

Labels are strings. A multi-label model's labels are its classes that apply, joined with ", " in class order
(join_labels); the empty string means no label applies. So class names of a multi-label model must not contain ", ".
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from predictor import model_folder
from predictor.errors import UserError

if TYPE_CHECKING:  # pandas is imported where a DataFrame is made: a process that only saves need not load it
    import pandas as pd

DB_FILE = "corrections.sqlite"  # in the models folder, beside the model folders
SCHEMA_VERSION = 2
AUDIT = "label audit"  # suggested_by: a row of train.py's label_issues.csv (predictor/audit.py)
LABEL_NEXT = "label next"  # suggested_by: a row the page proposed for labelling (predictor/label_next.py)
BUSY_TIMEOUT_S = 10.0  # how long a writer waits for another to finish before giving up with a UserError
LABEL_SEPARATOR = ", "
COLUMNS = ["created_at", "model", "text", "model_label", "corrected_label", "probabilities", "source_file",
           "source_row", "suggested_by"]  # for_model's DataFrame, which is also what the page's download holds
TABLE = "corrections"
_SCHEMA = [f"""CREATE TABLE {TABLE} (
    id INTEGER PRIMARY KEY,           -- the order corrections were saved in: later means meant last
    created_at TEXT NOT NULL,         -- ISO 8601, UTC
    model TEXT NOT NULL,              -- the model folder's name
    text TEXT NOT NULL,               -- as it was scored
    model_label TEXT NOT NULL,
    probabilities TEXT NOT NULL,      -- JSON object: class -> probability, in class order
    corrected_label TEXT NOT NULL,
    source_file TEXT,                 -- the uploaded file's name, if the text came from one
    source_row INTEGER,               -- and its row there
    suggested_by TEXT                 -- what proposed the row (AUDIT, LABEL_NEXT); NULL: the analyst's own pick
)""", f"CREATE INDEX {TABLE}_by_model ON {TABLE} (model, id)"]


@dataclass(frozen=True)
class Correction:
    """One analyst's correction of one scored text."""

    model: str  # the model folder's name
    text: str
    model_label: str  # what the model said (multi-label: join_labels of the labels it gave)
    probabilities: dict[str, float]  # the model's probability per class, in class order
    corrected_label: str  # what the analyst says it is (multi-label: join_labels; "" = no label applies)
    source_file: str | None = None  # the upload's file name, when the text came from a file
    source_row: int | None = None  # the text's row in that file, as the page numbers it
    suggested_by: str | None = None  # AUDIT or LABEL_NEXT when one of them proposed the row
    created_at: str = field(default="")  # ISO 8601 UTC; stamped by CorrectionsStore.add when empty


def store_path(root: Path | None = None) -> Path:
    """The corrections database: DB_FILE in the models folder (model_folder.models_dir() unless `root` is given)."""
    return Path(root or model_folder.models_dir()) / DB_FILE


def join_labels(labels: Iterable[str], classes: list[str]) -> str:
    """A multi-label value as stored: the classes among `labels`, in class order, joined with ", " ("" for none)."""
    chosen = set(labels)
    unknown = chosen - set(classes)
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} are not among the classes {classes}")
    return LABEL_SEPARATOR.join(c for c in classes if c in chosen)


def split_labels(value: str) -> list[str]:
    """The labels of a stored multi-label value (join_labels' inverse): "" -> []."""
    return [label.strip() for label in value.split(LABEL_SEPARATOR)] if value.strip() else []


class CorrectionsStore:
    """The corrections database at `path` (see store_path). Safe to share between threads and processes.

    Adding creates the file and its table when missing; reading a file that does not exist yet finds no corrections
    and creates nothing (a models folder nobody has corrected in stays as it was). Every sqlite3 error becomes a
    UserError saying which file and what to do.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def add(self, correction: Correction) -> int:
        """Save one correction in its own transaction; returns its id (ids grow in the order corrections are saved)."""
        _check(correction)
        created_at = correction.created_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
        probabilities = json.dumps({str(k): float(v) for k, v in correction.probabilities.items()},
                                   ensure_ascii=False, allow_nan=False)
        with self._connection(create=True) as conn:
            assert conn is not None
            with _writing(conn):
                cursor = conn.execute(
                    f"INSERT INTO {TABLE} (created_at, model, text, model_label, probabilities, corrected_label, "
                    "source_file, source_row, suggested_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (created_at, correction.model, correction.text, correction.model_label, probabilities,
                     correction.corrected_label, correction.source_file,
                     None if correction.source_row is None else int(correction.source_row), correction.suggested_by))
            return int(cursor.lastrowid)

    def for_model(self, model: str) -> pd.DataFrame:
        """A model's corrections, oldest first, in COLUMNS (probabilities as JSON text); what the download offers."""
        import pandas as pd

        rows = self._select(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE model = ? ORDER BY id", (model,))
        frame = pd.DataFrame(rows, columns=COLUMNS, dtype=object)
        frame["source_row"] = frame["source_row"].astype("Int64")  # whole numbers, blank when unknown
        return frame

    def count(self, model: str) -> int:
        """How many corrections a model has (every one saved, including a text corrected twice)."""
        rows = self._select(f"SELECT COUNT(*) FROM {TABLE} WHERE model = ?", (model,))
        return int(rows[0][0]) if rows else 0

    def latest_by_text(self, model: str) -> dict[str, str]:
        """Text (stripped of surrounding whitespace) -> its most recent corrected label, for merge.

        An analyst who corrects the same text twice means the second. The dict is in the order of each text's latest
        correction.
        """
        latest: dict[str, str] = {}
        for text, label in self._select(f"SELECT text, corrected_label FROM {TABLE} WHERE model = ? ORDER BY id",
                                        (model,)):
            key = text.strip()
            latest.pop(key, None)  # re-inserted: the dict's order follows the latest correction
            latest[key] = label
        return latest

    # -----------------------------------------------------------------------------------------------------------------

    def _select(self, sql: str, parameters: tuple) -> list[tuple]:
        with self._connection(create=False) as conn:
            return [] if conn is None else conn.execute(sql, parameters).fetchall()

    @contextlib.contextmanager
    def _connection(self, create: bool) -> Iterator[sqlite3.Connection | None]:
        """A fresh connection with the schema in place, closed afterwards; None when reading a file not yet made."""
        folder = self.path.parent
        if not self.path.exists():
            if not create:
                yield None
                return
            if not folder.is_dir():
                raise UserError(f"Cannot save corrections in {self.path}: the folder {folder} does not exist. "
                                "Train a model first (python train.py), or set PREDICTOR_MODELS_DIR to the models "
                                "folder.")
        try:
            # isolation_level=None: no hidden transactions; writes say BEGIN IMMEDIATE themselves.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as err:
            raise _user_error(self.path, err) from None
        try:
            self._prepare(conn)
            yield conn
        except sqlite3.Error as err:
            raise _user_error(self.path, err) from None
        finally:
            conn.close()

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Check the file is our database of a version this code reads, in WAL mode; create the table in a new one."""
        conn.execute("PRAGMA synchronous = FULL")  # per connection; see the module's docstring
        version, tables = _version_and_tables(conn)  # "file is not a database" shows here
        if version > SCHEMA_VERSION:
            raise UserError(f"{self.path} was written by a newer version of this tool (corrections version {version}; "
                            f"this code reads up to {SCHEMA_VERSION}). Update the code (git pull, then "
                            "pip install -r requirements.txt) before using it; the file is left as it is.")
        if version == 0 and tables:
            raise self._foreign(tables)  # before anything is changed in it
        self._use_wal(conn)
        if version == 0:
            self._create(conn)
        elif version < SCHEMA_VERSION:
            self._upgrade(conn)

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        """Switch the file to WAL mode (kept in the file: later connections find it done, at no cost).

        Switching needs the file to itself, and SQLite answers "database is locked" at once instead of waiting as it
        does for writes, so while another connection is busy with a new file this waits here, up to BUSY_TIMEOUT_S.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as err:
                if _primary_code(err) != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
            else:
                if mode == "wal":
                    return
                if time.monotonic() > deadline:
                    raise UserError(f"Cannot switch {self.path} to SQLite's WAL mode (it stays in {mode!r} mode), "
                                    "which the corrections need to be saved safely by several people at once. Keep "
                                    "the models folder on a local disk, not a network share.")
            time.sleep(0.005)

    def _create(self, conn: sqlite3.Connection) -> None:
        """Make an empty file our database. Several processes may race here: the first one creates, the rest see it."""
        with _writing(conn):
            version, tables = _version_and_tables(conn)
            if version == 0:  # else another connection created it meanwhile
                if tables:
                    raise self._foreign(tables)
                for statement in _SCHEMA:  # one by one: executescript would commit the transaction first
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _upgrade(self, conn: sqlite3.Connection) -> None:
        """Bring a file of an older layout up to SCHEMA_VERSION in one transaction (every row kept); a second process
        racing here finds it done."""
        with _writing(conn):
            version, _ = _version_and_tables(conn)
            if version < 2:
                conn.execute(f"ALTER TABLE {TABLE} ADD COLUMN suggested_by TEXT")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _foreign(self, tables: list[str]) -> UserError:
        """A SQLite file without our version that has tables is another program's: it is left alone."""
        return UserError(f"{self.path} is a SQLite database of something else (tables: {', '.join(tables)}), not the "
                         f"corrections. Move it out of {self.path.parent}, then try again.")


@contextlib.contextmanager
def _writing(conn: sqlite3.Connection) -> Iterator[None]:
    """One BEGIN IMMEDIATE transaction: committed when the block ends, rolled back if anything in it fails."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def _version_and_tables(conn: sqlite3.Connection) -> tuple[int, list[str]]:
    """The file's PRAGMA user_version and its tables, read together: another process may be creating them meanwhile.

    Inside the caller's transaction if one is open, else in a read transaction of their own.
    """
    own = not conn.in_transaction
    if own:
        conn.execute("BEGIN")
    try:
        tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return conn.execute("PRAGMA user_version").fetchone()[0], tables
    finally:
        if own:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")


def _check(correction: Correction) -> None:
    """Refuse a correction the page should never build (a bug, not the analyst's doing)."""
    if not (isinstance(correction.model, str) and correction.model):
        raise ValueError(f"a correction needs the model's name, not {correction.model!r}")
    if not (isinstance(correction.text, str) and correction.text.strip()):
        raise ValueError(f"a correction needs the text it corrects, not {correction.text!r}")
    for name in ("model_label", "corrected_label"):
        if not isinstance(getattr(correction, name), str):
            raise ValueError(f"{name} must be a string (multi-label: join_labels), not {getattr(correction, name)!r}")
    if correction.suggested_by not in (None, AUDIT, LABEL_NEXT):
        raise ValueError(f"suggested_by must be None, {AUDIT!r} or {LABEL_NEXT!r}, not {correction.suggested_by!r}")
    if any(not math.isfinite(float(p)) for p in correction.probabilities.values()):
        raise ValueError(f"probabilities must be finite numbers, not {correction.probabilities!r}")


def _primary_code(err: sqlite3.Error) -> int:
    """SQLite's primary result code (SQLITE_BUSY, ...) of an error, without the extended detail."""
    return getattr(err, "sqlite_errorcode", 0) & 0xFF


def _user_error(path: Path, err: sqlite3.Error) -> UserError:
    """What a sqlite3 error means for the person at the keyboard, and what to do about it."""
    code = _primary_code(err)
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):
        return UserError(f"{path} is not a corrections database SQLite can read ({err}): it is damaged or another "
                         f"kind of file. Move it aside (rename it, e.g. to {path.name}.damaged, or move it out of "
                         f"{path.parent}) and a new, empty one is made at the next correction; keep the old file "
                         "if it may hold corrections worth recovering.")
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return UserError(f"{path} stayed busy for over {BUSY_TIMEOUT_S:g} s: something kept writing to it all that "
                         "time. Nothing was saved; try again in a moment, and close anything else that has the file "
                         "open (a database browser, a backup in progress).")
    if code == sqlite3.SQLITE_FULL:
        return UserError(f"Cannot save to {path}: the disk is full. Free some space and try again.")
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_IOERR):
        return UserError(f"Cannot use {path} ({err}). It must be a file you may read and write, in a folder you may "
                         f"write to ({path.parent}: SQLite writes {path.name}-wal and {path.name}-shm beside it). "
                         "Fix the permissions, or set PREDICTOR_MODELS_DIR to a models folder you may write to.")
    return UserError(f"Cannot use the corrections in {path}: {err}. If this keeps happening, move the file aside "
                     "(a new one is made at the next correction).")
