"""The thresholds a multi-label model gives its labels at, in the sidebar: the model's own, or one the analyst sets for
every label. Both tabs score with them."""
import streamlit as st

from predictor import thresholds
from ui.words import plain

THRESHOLD_STEP = 0.05


def thresholds_ui(info):
    """Multi-label models, in the sidebar: the thresholds labels are given at. The model's own, one per label chosen
    on its validation rows, unless the analyst sets one for every label; a model without its own says why."""
    own = thresholds.Thresholds.of_model(info.record)
    if not info.multilabel:
        return own
    with st.sidebar:
        missing = thresholds.why_none(info.record)
        if not missing:
            st.caption(plain(f"Labels are given at the model's own thresholds: {own.describe()}."))
            if not st.toggle("One threshold for every label", key="one_threshold",
                             help="Instead of the model's thresholds, one you set, the same for every label."):
                return own
        else:
            st.caption(plain(missing))
        value = st.slider("Label threshold", min_value=THRESHOLD_STEP, max_value=1 - THRESHOLD_STEP,
                          value=own.single or thresholds.DEFAULT, step=THRESHOLD_STEP, key="threshold",
                          help="A label is given to a review when its probability is at least this. Lower it to "
                               "catch more reviews per label, raise it to be stricter. Applies to both tabs.")
        return thresholds.Thresholds.uniform(value, info.classes)
