"""Reading an uploaded table for the spreadsheet tab: the page's upload limit, the sheet to read (the one holding text
until the analyst picks another), the reading's progress, the column to score, and each file parsed once per upload
rather than on every rerun."""
import streamlit as st
from streamlit import config as st_config

from predictor import tables
from predictor.errors import UserError
from ui.words import plain

# Upload cap when nobody configured one. Set server.maxUploadSize (MB) in .streamlit/config.toml, the
# STREAMLIT_SERVER_MAX_UPLOAD_SIZE variable or --server.maxUploadSize to change it; the page reads that same value.
DEFAULT_UPLOAD_LIMIT_MB = 50
BYTES_PER_MB = tables.MB  # decimal, as Streamlit's uploader counts (but on Windows) and as score.py reports
UPLOAD_TYPES = ["xlsx", "xls", "csv", "tsv"]


def upload_limit_mb():
    """server.maxUploadSize if anyone set it, else our default (Streamlit's own default of 200 MB is too much here)."""
    if st_config.get_where_defined("server.maxUploadSize") == st_config.ConfigOption.DEFAULT_DEFINITION:
        return DEFAULT_UPLOAD_LIMIT_MB
    return int(st.get_option("server.maxUploadSize"))


def read_upload_ui(data, filename, table_id, limit_bytes):
    """(frame, facts) of the upload: the sheet the analyst picked; until then the one holding text (tables.TEXT_SHEET),
    preselected in the picker with a note saying why. The sheet picker sits above the reading's progress and stays up
    when a sheet cannot be read, so another can be picked."""
    picker = st.container()
    key = f"sheet-{table_id}"
    chosen = st.session_state.get(key) or tables.TEXT_SHEET
    try:
        table = parsed_once(table_id, ("table", chosen),
                            lambda: read_with_progress(data, filename, chosen, limit_bytes))
    except UserError:
        sheets_ui(picker, table_id)
        raise
    facts = table.facts
    parsed_once(table_id, "sheets", lambda: list(facts.sheets))
    if chosen is tables.TEXT_SHEET and facts.sheet_note:
        st.session_state[key] = facts.sheet  # the picker shows the sheet read; picking it reads nothing again
        st.session_state["parsed_upload"][("table", facts.sheet)] = table
    sheets_ui(picker, table_id)
    if facts.sheet_note:
        picker.caption(plain(facts.sheet_note + " Pick another sheet above to score it instead."))
    if facts.blank_rows_skipped:
        picker.caption(plain(tables.blank_rows_sentence(facts.blank_rows_skipped)))
    return table


def sheets_ui(container, table_id):
    sheets = st.session_state["parsed_upload"].get("sheets") or []
    if len(sheets) > 1:
        container.selectbox("Sheet", sheets, key=f"sheet-{table_id}")


def read_with_progress(data, filename, sheet, limit_bytes):
    """Read the upload in its stoppable reader (predictor/tables/), saying how far it got. Streamlit's Stop, or
    a rerun, raises out of the progress call, which stops the reader."""
    status = st.empty()

    def show(progress):
        rows = f", {progress.count:,} rows so far" if progress.count else ""
        status.caption(plain(f"Reading {filename} ({progress.elapsed_s:.0f} s{rows}) ..."))

    try:
        return tables.read(data, filename=filename, sheet=sheet, max_bytes=limit_bytes, on_progress=show)
    finally:
        status.empty()


def text_column_ui(df, widget_id):
    """The column to score: guessed as the longest text on average, or the analyst's pick among all columns."""
    columns = list(df.columns)
    guessed = tables.guess_text_column(df)
    text_column = st.selectbox("Column with the review text", columns,
                               index=columns.index(guessed) if guessed is not None else None,
                               key=f"text_column-{widget_id}", placeholder="Pick the column that holds the reviews",
                               help="Guessed as the column with the longest text on average; change it if wrong.")
    if guessed is None and text_column is None:
        st.warning("No column looks like text: each holds mostly numbers, dates, codes or blanks. Pick the one that "
                   "holds the reviews; rows without text in it are kept and flagged, not scored.")
    return text_column


def parsed_once(table_id, what, parse):
    """`parse()`'s result, or its UserError, remembered for this upload: every click reruns the page, and parsing a
    big file again each time would make the page crawl. Only the latest upload and sheet are kept in memory."""
    cache = st.session_state.setdefault("parsed_upload", {})
    if cache.get("table_id") != table_id:
        cache.clear()
        cache["table_id"] = table_id
    if what not in cache:
        if isinstance(what, tuple):  # one parsed sheet at a time
            for key in [key for key in cache if isinstance(key, tuple)]:
                del cache[key]
        try:
            cache[what] = parse()
        except UserError as err:
            cache[what] = err
    if isinstance(cache[what], UserError):
        raise cache[what]
    return cache[what]
