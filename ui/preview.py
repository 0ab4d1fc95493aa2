"""The preview of a scored file: which rows it shows (in order, or those that need review first) and how, numbered as
in the file with mixed columns as text; the download holds every row."""
import pandas as pd
import streamlit as st

from predictor import scoring
from ui.words import counted

PREVIEW_ROWS = 200  # enough to eyeball the result; the download holds every row


def preview_ui(scored):
    """The preview's order (a toggle), its heading and its table; returns the positions of the rows shown."""
    rows = len(scored.frame)
    review_first = st.toggle("Rows that need review first", key="review_first",
                             help=f"Rows marked in {scored.review_column}, least sure first; then the others in order.")
    positions = preview_positions(scored, review_first)
    st.markdown(f"**Preview** ({'first ' if len(positions) < rows else ''}{len(positions):,} of {counted(rows, 'row')}"
                + (", those that need review first" if review_first else "") + ")")
    preview_table_ui(scored, positions)
    return positions


def not_scored_ui(scored, flagged):
    """The `flagged` rows that were not scored, on request."""
    with st.expander(f"Rows not scored ({flagged:,})"):
        positions = (~scored.scored).to_numpy().nonzero()[0]
        preview_table_ui(scored, positions[:PREVIEW_ROWS])


def preview_positions(scored, review_first):
    """Row positions to preview: in order, or those needing review (least sure first) and then the rest."""
    if not review_first:
        return range(min(PREVIEW_ROWS, len(scored.frame)))
    confidence = scored.confidence()
    needing = confidence[scored.frame[scored.review_column] == scoring.REVIEW_FLAG].sort_values(kind="stable")
    rest = [i for i in range(len(scored.frame)) if scored.frame.index[i] not in needing.index]
    ordered = [scored.frame.index.get_loc(i) for i in needing.index] + rest
    return ordered[:PREVIEW_ROWS]


def for_display(scored, positions):
    """The rows at `positions` for the preview table: numbered from 1 as data rows under the header, mixed columns
    (text next to numbers or dates, as Excel allows) shown as text, blank probabilities for rows not scored."""
    shown = scored.frame.iloc[list(positions)].copy()
    shown.index = pd.Index([position + 1 for position in positions], name="row")
    probability_columns = set(scored.probability_columns.values())
    for position, (name, dtype) in enumerate(zip(shown.columns, shown.dtypes)):
        if name in probability_columns:  # the widget would write "None" where the file has an empty cell
            shown.isetitem(position, shown.iloc[:, position].map(
                lambda p: "" if pd.isna(p) else f"{p:.{scoring.PROBABILITY_DECIMALS}f}"))
        elif pd.api.types.is_object_dtype(dtype):  # the widget needs one type per column
            shown.isetitem(position, shown.iloc[:, position].map(lambda value: "" if value is None else str(value)))
    return shown


def preview_table_ui(scored, positions):
    probability_columns = scored.probability_columns.values()
    st.dataframe(for_display(scored, positions), width="stretch",
                 column_config={name: st.column_config.TextColumn(alignment="right") for name in probability_columns})
