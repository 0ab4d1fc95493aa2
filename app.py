"""Review scorer: type a review, or upload a spreadsheet of them, and see what a trained model thinks.

Run: streamlit run app.py   (models are read from models/, or $PREDICTOR_MODELS_DIR)
"""
import hashlib
import time
from pathlib import Path

import predictor  # noqa: F401  (sets up TensorFlow before anything imports it)

import pandas as pd
import streamlit as st

from predictor import export, model_folder, scoring
from predictor.errors import UserError
from ui import charts, explanation, label_thresholds, labels, model_card, model_picker, preview, review, upload
from ui.words import counted, plain

# Wide enough for a model name as train.py makes them (a file name and a time stamp, some 30 characters) in the
# sidebar's model picker; Streamlit's default of 256 px cut such names off. The reader can still drag it.
SIDEBAR_PX = 340
ETA_AFTER_S = 3  # a time-left estimate from the first batch or two is noise
REVIEW_BELOW = {False: 0.6, True: 0.2}  # "needs review" under this confidence at first (single-label, multi-label)
NO_LABEL_BAR = "(no label)"  # multi-label rows with no label at or above its threshold


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
        bulk_result_ui(stored, bars, uploaded.name, scorer)


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


def bulk_result_ui(stored, bars, file_name, scorer):
    stem = Path(file_name).stem
    scored = scoring.apply_thresholds(stored["scored"], bars)
    summary = scoring.summarise(scored)
    flagged = summary["rows"] - summary["scored"]
    truncated = summary["status_counts"].get(scoring.STATUS_TRUNCATED, 0)
    st.success(plain(f"Scored {summary['scored']:,} of {counted(summary['rows'], 'row')}"
                     + (f"; {flagged:,} not scored (kept, and flagged in {scored.status_column})" if flagged else "")
                     + (f"; {truncated:,} longer than the model reads, so part of each was not read" if truncated
                        else "") + "."))
    if stored.get("unlike"):
        st.warning(plain(stored["unlike"]))

    chart_column, status_column = st.columns([3, 2])
    with chart_column:
        st.markdown("**Predicted labels**" + (f" (thresholds {plain(bars.describe())}; a review may have several, or "
                                              "none)"
                                              if scored.multilabel else ""))
        counts = summary["label_counts"]
        if summary.get("no_label"):
            counts = pd.concat([counts, pd.DataFrame({"label": [NO_LABEL_BAR], "rows": [summary["no_label"]]})])
        st.altair_chart(charts.label_count_chart(counts), width="stretch")
    with status_column:
        st.markdown(f"**{plain(scored.status_column)}**")
        statuses = pd.DataFrame({"status": list(summary["status_counts"]),
                                 "rows": list(summary["status_counts"].values())})
        statuses["meaning"] = statuses["status"].map(scoring.STATUS_MEANINGS).fillna("")
        st.table(statuses.set_index("status"))

    below = review_ui(scored, calibrated=bool(scorer.model.temperatures))
    scored = scoring.with_review_column(scored, below)
    downloads, version = stored["downloads"], (bars, below)
    if version not in downloads:  # built once per thresholds and review bar: a download click reruns the page
        downloads.clear()
        downloads[version] = {"xlsx": export.to_xlsx_bytes(scored.frame, status_column=scored.status_column),
                              "csv": export.to_csv_bytes(scored.frame),
                              "cleaned": export.cells_with_forbidden_characters(scored.frame)}
    if downloads[version]["cleaned"]:
        st.warning(plain(export.control_characters_sentence(downloads[version]["cleaned"])
                         + " The .csv keeps them."))
    cut = export.rows_over_excel_limit(scored.frame)
    if cut:
        st.warning(plain(f"{len(cut):,} row(s) hold a cell longer than Excel's limit of "
                         f"{export.EXCEL_MAX_CELL_CHARS:,} characters: the .xlsx cuts it and says so in "
                         f"{scored.status_column}; the .csv keeps every character."))
    buttons = st.container(horizontal=True)
    buttons.download_button("Download .xlsx", downloads[version]["xlsx"], file_name=f"{stem}_scored.xlsx",
                            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            key="download_xlsx", on_click="ignore", type="primary")
    buttons.download_button("Download .csv", downloads[version]["csv"], file_name=f"{stem}_scored.csv",
                            mime="text/csv", key="download_csv", on_click="ignore")

    rows = len(scored.frame)
    review_first = st.toggle("Rows that need review first", key="review_first",
                             help=f"Rows marked in {scored.review_column}, least sure first; then the others in order.")
    positions = preview.preview_positions(scored, review_first)
    st.markdown(f"**Preview** ({'first ' if len(positions) < rows else ''}{len(positions):,} of {counted(rows, 'row')}"
                + (", those that need review first" if review_first else "") + ")")
    preview.preview_table_ui(scored, positions)
    explanation.explain_row_ui(scorer, scored, positions)
    labels.corrections_editor_ui(scorer, scored, positions, file_name)
    labels.label_next_ui(scorer, scored, file_name)
    if flagged:
        with st.expander(f"Rows not scored ({flagged:,})"):
            positions = (~scored.scored).to_numpy().nonzero()[0]
            preview.preview_table_ui(scored, positions[:preview.PREVIEW_ROWS])


def review_ui(scored, calibrated):
    """How sure the model was of each row, and the bar under which a row needs a human; returns that bar. With
    calibrated probabilities (single-label), how many of the rows under the bar are likely wrong: a row with the
    winning class at 0.7 is wrong 3 times in 10."""
    confidence = scored.confidence().dropna()
    with st.expander("How sure the model is, and which rows need review", expanded=True):
        what = ("a label's distance from its threshold, as a share of the way to 0 or 1" if scored.multilabel
                else "the winning class's probability")
        below = st.slider("A row needs review when the model's confidence is below", 0.0, 1.0,
                          REVIEW_BELOW[scored.multilabel], label_thresholds.THRESHOLD_STEP, key="review_below",
                          help=f"Confidence here is {what}.")
        under = confidence[confidence < below]
        expected = ""
        if not scored.multilabel:
            expected = (f" About {(1 - under).sum():,.0f} of them are expected to be wrong (the probabilities are "
                        "calibrated on the validation rows)." if calibrated else
                        " This model's probabilities are not calibrated (too few validation rows, or trained before "
                        "calibration), so how many of them are wrong cannot be estimated.")
        st.caption(plain(f"{len(under):,} of {len(confidence):,} scored rows need review; the download marks them in "
                         f"{scoring.REVIEW_COLUMN}. Confidence is {what}.{expected}"))
        if len(confidence):
            st.altair_chart(charts.confidence_chart(confidence, below), width="stretch")
    return below


def _duration(seconds):
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


if __name__ == "__main__":
    main()
