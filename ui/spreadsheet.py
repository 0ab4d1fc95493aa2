"""The page's "A spreadsheet" tab: a table of reviews uploaded (ui/upload.py reads it), every row scored with the
progress and the time left shown, and the result (ui/bulk_result.py) kept for this file, column and model."""
import hashlib
import time

import streamlit as st

from predictor import scoring
from predictor.errors import UserError
from ui import bulk_result, upload
from ui.words import counted, plain

ETA_AFTER_S = 3  # a time-left estimate from the first batch or two is noise


def spreadsheet_ui(scorer, bars):
    limit_mb = upload.upload_limit_mb()
    limit_bytes = limit_mb * upload.BYTES_PER_MB
    uploaded = st.file_uploader("Upload a table of reviews", type=upload.UPLOAD_TYPES, key="upload",
                                help=f"Excel (.xlsx, .xls) or CSV, up to {limit_mb} MB. Every row comes back "
                                     "in the same order with all its columns, plus the model's scores.")
    st.caption(f"Up to {limit_mb} MB ({limit_bytes:,} bytes) per file: a larger one is refused as it is "
               "dropped here. Split larger files, or save just the needed columns as .csv.")
    if uploaded is None:
        for key in ("parsed_upload", "bulk_result"):  # the file was removed: free its memory
            st.session_state.pop(key, None)
        st.caption("Each row is scored; rows without text are kept and flagged, never dropped.")
        return
    data = uploaded.getvalue()
    if len(data) > limit_bytes:
        st.error(plain(f"{uploaded.name} is {len(data) / upload.BYTES_PER_MB:.1f} MB, over this page's {limit_mb} MB "
                       "limit. Split it into smaller files or save just the needed columns as .csv, or ask whoever "
                       "runs the page to raise server.maxUploadSize in .streamlit/config.toml."))
        return
    table_id = hashlib.sha256(data).hexdigest()[:16]
    try:
        df, facts = upload.read_upload_ui(data, uploaded.name, table_id, limit_bytes)
        sheet = facts.sheet
        scoring.check_has_rows(df, f'Sheet "{sheet}" of {uploaded.name}' if sheet else uploaded.name)
    except UserError as err:
        st.error(plain(err))
        return
    text_column = upload.text_column_ui(df, f"{table_id}-{sheet}")
    st.caption(plain(f"{counted(len(df), 'row')} and {counted(len(df.columns), 'column')} read from {uploaded.name}"
                     + (f', sheet "{sheet}"' if sheet else "") + "."))
    if text_column is None:
        return
    try:
        scoring.check_text_column(df, text_column, facts)
    except UserError as err:
        st.error(plain(err))
        return

    job = {"table": table_id, "sheet": sheet, "column": text_column, "model": (scorer.info.name, scorer.info.created)}
    if st.button(f"Score {counted(len(df), 'row')}", type="primary", key="score_table"):
        scored = score_table_ui(scorer, df, text_column, bars)
        st.session_state["bulk_result"] = {**job, "scored": scored, "downloads": {},
                                           "unlike": scoring.unlike_training(scorer.info, scored)}
    stored = st.session_state.get("bulk_result")
    if stored and all(stored[key] == value for key, value in job.items()):
        bulk_result.bulk_result_ui(stored, bars, uploaded.name, scorer)


def score_table_ui(scorer, df, text_column, bars):
    progress = st.progress(0.0, text=f"Scoring 0 of {counted(len(df), 'row')}...")
    started = time.monotonic()

    def show_progress(rows_done, rows_total):
        elapsed = time.monotonic() - started
        left = elapsed / rows_done * (rows_total - rows_done) if rows_done else 0
        eta = f" (about {_duration(left)} left)" if rows_done < rows_total and elapsed > ETA_AFTER_S else ""
        progress.progress(rows_done / rows_total, text=f"Scored {rows_done:,} of {counted(rows_total, 'row')}{eta}")

    scored = scoring.score_frame(scorer, df, text_column, thresholds=bars, on_progress=show_progress)
    progress.empty()
    return scored


def _duration(seconds):
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"
