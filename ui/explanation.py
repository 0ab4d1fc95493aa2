"""The page's part for why a review got its label: the review with the phrases that pushed the model towards or away
from a label highlighted, and the strongest few as a chart (predictor/explain.py), for the review typed in or for any
scored row of a file's preview."""
import hashlib
import html

import streamlit as st

from predictor import explain, scoring
from ui import charts
from ui.words import cut, plain

TOP_PHRASES = 8  # phrases in the explanation's chart


def explanation_ui(scorer, text, label, key):
    """Why the model gave `label` (or any class the analyst picks): the review with its phrases highlighted, and the
    strongest few as a chart. Computed on request: it scores the review once per phrase (a second or two)."""
    with st.expander("Why this label?"):
        label = st.selectbox("Explain the label", scorer.classes, index=scorer.classes.index(label),
                             key=f"explain_label-{key}", help="Which phrases pushed the model towards this label, and "
                                                              "which away from it.")
        wanted = (scorer.info.name, text, label)
        if st.button("Explain", key=f"explain-{key}"):
            with st.spinner("Scoring the review once without each phrase..."):
                st.session_state[f"explanation-{key}"] = (wanted, explain.explain_with_scorer(scorer, text, label))
        stored = st.session_state.get(f"explanation-{key}")
        if stored and stored[0] == wanted:
            explanation_result_ui(stored[1])


def explanation_result_ui(explanation):
    st.caption(plain(f"{explanation.label}: {explanation.probability:.1%}. Green pushed the model towards this label, "
                     "red away from it; the stronger the colour, the more. Method: " + explanation.method + "."))
    st.html(highlighted_html(explanation))
    strongest = [p for p in explanation.strongest(TOP_PHRASES) if p.weight != 0]
    if strongest:
        st.altair_chart(charts.phrase_chart(explanation, strongest), width="stretch")


def highlighted_html(explanation):
    """The review as HTML, each phrase's background coloured by its weight; the text itself is escaped."""
    text, parts, last = explanation.text, [], 0
    top = max((abs(p.weight) for p in explanation.phrases), default=0) or 1
    for phrase in explanation.phrases:
        red, green, blue = charts.TOWARDS if phrase.weight > 0 else charts.AWAY
        alpha = 0.75 * abs(phrase.weight) / top
        parts.append(html.escape(text[last:phrase.start]))
        parts.append(f'<span style="background-color: rgba({red}, {green}, {blue}, {alpha:.2f}); border-radius: 3px" '
                     f'title="{phrase.weight:+.3f}">{html.escape(text[phrase.start:phrase.end])}</span>')
        last = phrase.end
    parts.append(html.escape(text[last:]))
    return f'<div style="white-space: pre-wrap; line-height: 1.9">{"".join(parts)}</div>'


def explain_row_ui(scorer, scored, positions):
    """The one-review explanation for any scored row of the preview."""
    scorable = [p for p in positions if scored.scored.iloc[p]]
    if not scorable:
        return
    with st.expander("Why did a row get its label?"):
        texts = scored.frame[scored.text_column]
        # Keyed by the order shown: when the preview is re-ordered (rows that need review first), the picker starts
        # again at the first row shown instead of keeping row 1, which may now be far down the table.
        position = st.selectbox("Row", scorable, key=f"explain_row-{review_key(scored.model, *scorable)}",
                                format_func=lambda p: f"row {p + 1}: {cut(str(texts.iloc[p]), 70)}")
        text = str(texts.iloc[position])
        label = scored.frame[scored.label_column].iloc[position].split(scoring.MULTILABEL_SEPARATOR)[0]
        label = label or max(scored.probability_columns, key=lambda c: scored.frame[scored.probability_columns[c]]
                             .iloc[position])
        explanation_ui(scorer, text, label, f"row-{position}-{review_key(scored.model, position, text)}")


def review_key(*parts):
    """A short key naming one review (model, text, ...) for the widgets that belong to it."""
    return hashlib.sha256("\0".join(map(str, parts)).encode("utf-8", "surrogatepass")).hexdigest()[:12]
