"""The model card: what the chosen model is (its classes, kind, members, what it reads) and how well it did on its
validation rows, in the sidebar under the picker; class by class, with its confusion matrix and reliability diagram,
at the page's full width."""
import pandas as pd
import streamlit as st

from predictor import model_folder
from ui.words import date_text, plain

CONFUSION_WIDTH_PX = 900
RELIABILITY_WIDTH_PX = 450


def model_card_ui(info, is_default):
    kind = "multi-label (any number of labels per review)" if info.multilabel else "single-label (one class per review)"
    st.markdown(f"**Name:** {plain(info.name)}" + (" (the default)" if is_default else "") + "  \n"
                f"**{'Labels' if info.multilabel else 'Classes'}:** {plain(', '.join(info.classes))}  \n"
                f"**Type:** {kind}  \n**Trained:** {date_text(info.created)}  \n"
                f"**Model:** {model_kind(info.record)}  \n**Reads:** {info.record.reading_text()}  \n"
                f"**Learnt from:** {info.record.learnt_from_text()}")
    if not is_default:
        st.button("Make this the default", key="make_default", on_click=make_default, args=(info.name,),
                  help="New sessions of this page, and score.py without --model, will use this model.")
    if st.session_state.pop("made_default", None) == info.name:
        st.success("This is now the default model for new sessions and score.py.")
    metrics = info.metrics
    shown = [("Accuracy", "accuracy"), ("Macro F1", "macro_f1"), ("Micro F1", "micro_f1")]
    values = [(label, metrics[key]) for label, key in shown if isinstance(metrics.get(key), (int, float))]
    if values:
        columns = st.columns(len(values))
        for column, (label, value) in zip(columns, values):
            column.metric(label, f"{value:.1%}")
        rows = metrics.get("rows")
        st.caption(f"On {rows:,} validation reviews held out from training." if isinstance(rows, int)
                   else "On validation reviews held out from training.")
    else:
        st.caption("No validation metrics were saved with this model.")
    for warning in info.record.warnings:
        st.warning(plain(warning[:1].upper() + warning[1:]))


def make_default(name):
    model_folder.make_default(name)
    st.session_state["made_default"] = name


def model_details_ui(info):
    """Per-class validation scores and the confusion matrix, at the page's full width (the sidebar is too narrow)."""
    per_class = info.metrics.get("per_class") or info.metrics.get("per_label")
    picture = info.path / model_folder.CONFUSION_FILE
    if not (isinstance(per_class, dict) and per_class) and not picture.is_file():
        return
    with st.expander("How this model did on validation, class by class"):
        if isinstance(per_class, dict) and per_class:
            table = pd.DataFrame(per_class).T
            keep = [c for c in ("precision", "recall", "f1", "support") if c in table.columns]
            st.dataframe(table[keep], width="stretch")
        if picture.is_file():
            st.image(str(picture), width=min(CONFUSION_WIDTH_PX, 160 * max(3, len(info.classes))))
        calibrated = info.record.calibration
        if calibrated.get("temperatures"):
            st.caption(f"Probabilities calibrated on the validation rows: expected calibration error "
                       f"{calibrated['ece_before']:.3f} as blended, {calibrated['ece_after']:.3f} after. The diagram "
                       "shows how often each stated probability came true.")
            if (info.path / model_folder.RELIABILITY_FILE).is_file():
                st.image(str(info.path / model_folder.RELIABILITY_FILE), width=RELIABILITY_WIDTH_PX)
        elif calibrated.get("why"):
            st.caption(plain(f"Probabilities not calibrated: {calibrated['why']}."))


def model_kind(record):
    """What the model is, in words."""
    if record.member(model_folder.NBSVM) and record.member(model_folder.BERT):
        weights = set(record.bert_weight)
        if weights == {1.0}:
            return "BERT (NBSVM was trained too, but BERT alone did better on validation)"
        if weights == {0.0}:
            return "NBSVM (BERT was trained too, but NBSVM alone did better on validation)"
        return "BERT and NBSVM, blended"
    return "NBSVM" if record.member(model_folder.NBSVM) else "BERT"
