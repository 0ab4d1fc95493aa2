"""Review scorer: type a review, or upload a spreadsheet of them, and see what a trained model thinks.

Run: streamlit run app.py   (models are read from models/, or $PREDICTOR_MODELS_DIR)
"""
import predictor  # noqa: F401  (sets up TensorFlow before anything imports it)

import streamlit as st

from predictor import model_folder
from ui import label_thresholds, labels, model_card, model_picker, one_review, sign_in, spreadsheet

# Wide enough for a model name as train.py makes them (a file name and a time stamp, some 30 characters) in the
# sidebar's model picker; Streamlit's default of 256 px cut such names off. The reader can still drag it.
SIDEBAR_PX = 340


def main():
    st.set_page_config(page_title="Review scorer", page_icon=":bar_chart:", layout="wide",
                       initial_sidebar_state=SIDEBAR_PX)
    st.title("Review scorer")
    if not sign_in.signed_in_ui():
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
        one_review.one_review_ui(scorer, bars)
    with spreadsheet_tab:
        spreadsheet.spreadsheet_ui(scorer, bars)
    with audit_tab:
        labels.label_audit_ui(scorer)
    labels.corrections_sidebar_ui(info)  # last: it counts the corrections this run may have just saved


if __name__ == "__main__":
    main()
