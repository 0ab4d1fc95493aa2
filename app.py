"""Review scorer: type a review, or upload a spreadsheet of them, and see what a trained model thinks.

Run: streamlit run app.py   (models are read from models/, or $PREDICTOR_MODELS_DIR)
"""
import hashlib
import time

import predictor  # noqa: F401  (sets up TensorFlow before anything imports it)

import streamlit as st

from predictor import model_folder, scoring
from predictor.errors import UserError
from ui import bulk_result, label_thresholds, labels, model_card, model_picker, review, upload
from ui.words import counted, plain

# Wide enough for a model name as train.py makes them (a file name and a time stamp, some 30 characters) in the
# sidebar's model picker; Streamlit's default of 256 px cut such names off. The reader can still drag it.
SIDEBAR_PX = 340
ETA_AFTER_S = 3  # a time-left estimate from the first batch or two is noise


def main():
    st.set_page_config(page_title="Review scorer", page_icon=":bar_chart:", layout="wide",
                       initial_sidebar_state=SIDEBAR_PX)
    st.title("Review scorer")
    if not signed_in_ui():
        return
    available = model_folder.list_models()
    if not available:
        model_picker.no_model_ui()
        return
    info = model_picker.model_picker_ui(available)
    scorer = model_picker.load_scorer_ui(info)
    if scorer is None:
        return
    model_card.model_details_ui(info)
    bars = label_thresholds.thresholds_ui(info)
    one_review_tab, spreadsheet_tab, audit_tab = st.tabs(["One review", "A spreadsheet", "Labels to check"])
    with one_review_tab:
        review.one_review_ui(scorer, bars)
    with spreadsheet_tab:
        spreadsheet_ui(scorer, bars)
    with audit_tab:
        labels.label_audit_ui(scorer)
    labels.corrections_sidebar_ui(info)  # last: it counts the corrections this run may have just saved


def signed_in_ui():
    """Whether to show the page: yes when no sign-in is configured (then .streamlit/config.toml lets only this machine
    in), else only to a visitor signed in with the identity provider in .streamlit/secrets.toml [auth] (README,
    "Sharing the page with a team")."""
    if not sign_in_configured():
        return True
    if getattr(st.user, "is_logged_in", False):  # absent until Streamlit has an identity provider to ask
        st.sidebar.button("Sign out", key="sign_out", on_click=st.logout)
        return True
    st.info("Sign in to score reviews: this page is shared with a team, so it needs to know who you are.")
    st.button("Sign in", key="sign_in", type="primary", on_click=st.login)
    return False


def sign_in_configured():
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets.toml at all (Streamlit's error subclasses it)
        return False


# ---------------------------------------------------------------------------------------------------------------------
# Model


# ---------------------------------------------------------------------------------------------------------------------
# One review


# ---------------------------------------------------------------------------------------------------------------------
# A spreadsheet


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
        df, sheet = upload.read_upload_ui(data, uploaded.name, table_id, limit_bytes)
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
        scoring.check_text_column(df, text_column)
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


if __name__ == "__main__":
    main()
