"""A scored file's result: how many rows were scored and why others were not, the labels given, how sure the model
was and which rows need review, the downloads, the preview, and what to do with its rows (explain, correct, label)."""
from pathlib import Path

import pandas as pd
import streamlit as st

from predictor import scoring
from predictor.tables import writing
from ui import charts, explanation, label_thresholds, labels, preview
from ui.words import counted, plain

REVIEW_BELOW = {False: 0.6, True: 0.2}  # "needs review" under this confidence at first (single-label, multi-label)
NO_LABEL_BAR = "(no label)"  # multi-label rows with no label at or above its threshold


def bulk_result_ui(stored, bars, file_name, scorer):
    """The result of `stored` (a scored file kept in the session) at the thresholds `bars`, in the order shown."""
    scored = scoring.apply_thresholds(stored["scored"], bars)
    summary = scoring.summarise(scored)
    flagged = summary["rows"] - summary["scored"]
    summary_ui(stored, scored, summary, flagged, bars)
    below = review_ui(scored, calibrated=bool(scorer.model.temperatures))
    scored = scoring.with_review_column(scored, below)
    downloads_ui(stored["downloads"], scored, (bars, below), Path(file_name).stem)
    positions = preview.preview_ui(scored)
    explanation.explain_row_ui(scorer, scored, positions)
    labels.corrections_editor_ui(scorer, scored, positions, file_name)
    labels.label_next_ui(scorer, scored, file_name)
    if flagged:
        preview.not_scored_ui(scored, flagged)


def summary_ui(stored, scored, summary, flagged, bars):
    """How many rows were scored and why others were not, the labels given and the rows per status."""
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


def downloads_ui(downloads, scored, version, stem):
    """The scored file as .xlsx and .csv, and what the .xlsx could not keep. `downloads` keeps the files built for
    `version` (the thresholds and the review bar)."""
    if version not in downloads:  # built once per thresholds and review bar: a download click reruns the page
        downloads.clear()
        downloads[version] = {"xlsx": writing.to_xlsx_bytes(scored.frame, status_column=scored.status_column),
                              "csv": writing.to_csv_bytes(scored.frame),
                              "cleaned": writing.cells_with_forbidden_characters(scored.frame)}
    if downloads[version]["cleaned"]:
        st.warning(plain(writing.control_characters_sentence(downloads[version]["cleaned"])
                         + " The .csv keeps them."))
    cut = writing.rows_over_excel_limit(scored.frame)
    if cut:
        st.warning(plain(f"{len(cut):,} row(s) hold a cell longer than Excel's limit of "
                         f"{writing.EXCEL_MAX_CELL_CHARS:,} characters: the .xlsx cuts it and says so in "
                         f"{scored.status_column}; the .csv keeps every character."))
    buttons = st.container(horizontal=True)
    buttons.download_button("Download .xlsx", downloads[version]["xlsx"], file_name=f"{stem}_scored.xlsx",
                            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            key="download_xlsx", on_click="ignore", type="primary")
    buttons.download_button("Download .csv", downloads[version]["csv"], file_name=f"{stem}_scored.csv",
                            mime="text/csv", key="download_csv", on_click="ignore")


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
