"""The page's "One review" tab: a review typed or pasted in, scored, with every class's probability, what the model
read of it, how each member voted, why it got its label and a way to correct it."""
import pandas as pd
import streamlit as st

from predictor import scoring, unlike
from predictor.bert import tokenizer
from ui import charts, explanation, labels
from ui.words import plain


def one_review_ui(scorer, bars):
    text = st.text_area("Review", height=150, key="review_text",
                        placeholder="Paste or type a review, then press Score review.")
    if st.button("Score review", type="primary", key="score_review"):
        result = scoring.score_text(scorer, text, bars)
        if result is None:
            st.session_state.pop("review_result", None)
            st.info("Type or paste a review in the box above first: it is empty.")
            return
        st.session_state["review_result"] = {"model": scorer.info.name, "text": text, "score": result}
    stored = st.session_state.get("review_result")
    # Only show a result that belongs to what is on screen now (same text, same model).
    if stored and stored["model"] == scorer.info.name and stored["text"] == text:
        score = stored["score"].with_thresholds(bars)
        review_result_ui(score, scorer.info.record)
        # Widgets keyed by the review: a new review starts them from its own label, not the last review's choice.
        key = "review-" + explanation.review_key(scorer.info.name, text)
        first = score.labels[0] if score.labels else next(iter(score.probabilities))
        explanation.explanation_ui(scorer, text, first, key)
        labels.correction_ui(scorer, text, score, key)


def review_result_ui(score, scorer_record):
    if score.multilabel:
        headline = score.label or f"no label reaches its threshold ({score.thresholds.describe()})"
        st.metric("Predicted labels", headline)
    else:
        st.metric("Predicted class", score.label)
        st.caption(f"with {score.probabilities[score.label]:.1%} probability")
    if score.truncated:
        part = {tokenizer.HEAD: "only the first part", tokenizer.HEAD_TAIL: "only the start and the end"}.get(
            scorer_record.reading, "part")
        st.warning(f"This review is long ({score.token_count:,} word pieces): the model read {part} of it "
                   f"({score.pieces_read:,} pieces; it reads {scorer_record.reading_text()}).")
    if score.unlike_training:
        st.warning(unlike.text_warning(score.token_count - tokenizer.MARKERS, scorer_record))
    if not score.truncated and score.token_count > (scorer_record.maxlen or 0):
        st.caption(f"A long review ({score.token_count:,} word pieces): read whole, in windows "
                   f"{tokenizer.windows_text(scorer_record.window_overlap)}.")
    table = pd.DataFrame({"class": list(score.probabilities), "probability": list(score.probabilities.values())})
    if score.multilabel:
        table["threshold"] = table["class"].map(score.thresholds.of)
        table["assigned"] = table["probability"] >= table["threshold"]
    chart_column, numbers_column = st.columns([3, 2])
    chart_column.altair_chart(charts.probability_chart(table), width="stretch")
    numbers = table.assign(probability=table["probability"].map("{:.2%}".format))
    if score.multilabel:
        numbers["assigned"] = numbers["assigned"].map({True: "yes", False: "no"})
        numbers["threshold"] = numbers["threshold"].map("{:.2f}".format)
    numbers_column.table(numbers.set_index("class"))  # plain text: a handful of rows, readable and copyable
    if score.multilabel:
        numbers_column.caption("Each label is judged on its own, so the probabilities need not add up to 100%.")
    if len(score.members) > 1:
        members_ui(score, scorer_record)


def members_ui(score, record):
    """Each member's own probabilities beside the blend the page shows."""
    with st.expander("How the two models voted"):
        weights = record.bert_weight
        weight = (f"BERT weight {weights[0]:.2f}, NBSVM {1 - weights[0]:.2f}" if len(set(weights)) == 1
                  else "one BERT weight per label: " + ", ".join(f"{c} {w:.2f}" for c, w in zip(record.classes,
                                                                                               weights)))
        st.caption(plain(f"The probabilities above blend BERT and NBSVM ({weight}; chosen on the validation rows)."))
        table = pd.DataFrame({kind.upper(): probabilities for kind, probabilities in score.members.items()})
        table["blend"] = pd.Series(score.probabilities)
        st.table(table.loc[list(score.probabilities)].map("{:.2%}".format))
