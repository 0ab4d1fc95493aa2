"""The page's charts (Altair): a review's probabilities, the phrases behind its label, a file's labels and how sure the
model was of its rows. Bar charts grow with their number of bars, so their labels never overlap."""
import altair as alt
import pandas as pd

from ui.words import cut

CHART_BAR_PX, CHART_AXIS_PX = 34, 50  # a bar chart's height: per bar, and for its axis
TOWARDS, AWAY = (26, 150, 65), (215, 48, 39)  # highlight colours (RGB): green pushed towards the label, red away
PHRASE_CHARS = 40  # a phrase's label in the explanation's chart is cut to this


def probability_chart(table):
    """Horizontal bars, highest first, on a fixed 0-100% axis; with a `threshold` column (multi-label), a red tick
    marks each label's threshold."""
    base = alt.Chart(table).encode(
        x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"), title="Probability"),
        y=alt.Y("class:N", sort="-x", title=None),
        tooltip=["class", alt.Tooltip("probability:Q", format=".2%")])
    chart = base.mark_bar() + base.mark_text(align="left", dx=4).encode(text=alt.Text("probability:Q", format=".1%"))
    if "threshold" in table:
        chart += base.mark_tick(color="red", thickness=2).encode(
            x="threshold:Q", tooltip=["class", alt.Tooltip("threshold:Q", format=".2f")])
    return chart.properties(height=bar_chart_height(len(table)))


def phrase_chart(explanation, phrases):
    table = pd.DataFrame({
        "phrase": [cut(explanation.text[p.start:p.end], PHRASE_CHARS) for p in phrases],
        "weight": [p.weight for p in phrases],
        "direction": ["towards" if p.weight > 0 else "away" for p in phrases]})
    base = alt.Chart(table).encode(
        x=alt.X("weight:Q", title=f"Probability of {explanation.label} lost without the phrase"),
        y=alt.Y("phrase:N", sort=alt.SortField("weight", order="descending"), title=None),
        color=alt.Color("direction:N", scale=alt.Scale(domain=["towards", "away"],
                                                      range=[f"rgb{TOWARDS}", f"rgb{AWAY}"]), legend=None),
        tooltip=["phrase", alt.Tooltip("weight:Q", format="+.3f")])
    return base.mark_bar().properties(height=bar_chart_height(len(table)))


def label_count_chart(label_counts):
    """Horizontal bars of rows per label, most first, each with its count written at its end."""
    base = alt.Chart(label_counts).encode(
        x=alt.X("rows:Q", title="Rows", axis=alt.Axis(format="d", tickMinStep=1)),
        y=alt.Y("label:N", sort="-x", title=None), tooltip=["label", "rows"])
    chart = base.mark_bar() + base.mark_text(align="left", dx=4).encode(text=alt.Text("rows:Q", format=","))
    return chart.properties(height=bar_chart_height(len(label_counts)))


def confidence_chart(confidence, below):
    table = pd.DataFrame({"confidence": confidence.to_numpy()})
    bars = alt.Chart(table).mark_bar().encode(
        x=alt.X("confidence:Q", bin=alt.Bin(extent=[0, 1], step=0.05), title="Confidence"),
        y=alt.Y("count():Q", title="Rows"))
    rule = alt.Chart(pd.DataFrame({"below": [below]})).mark_rule(color="red", strokeDash=[4, 4]).encode(x="below:Q")
    return (bars + rule).properties(height=180)


def bar_chart_height(bars):
    return CHART_AXIS_PX + CHART_BAR_PX * bars
