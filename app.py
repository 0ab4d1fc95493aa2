"""Review scorer: type a review, or upload a spreadsheet of them, and see what a trained model thinks.

Run: streamlit run app.py   (models are read from models/, or $PREDICTOR_MODELS_DIR)
"""
import hashlib
import html
import time
from pathlib import Path

import predictor  # noqa: F401  (sets up TensorFlow before anything imports it)

import altair as alt
import pandas as pd
import streamlit as st
from streamlit import config as st_config

from predictor import explain, export, model_folder, models, pieces, scoring, tables, thresholds, unlike
from predictor.errors import UserError
from ui import labels
from ui.words import counted, cut, plain

# Upload cap when nobody configured one. Set server.maxUploadSize (MB) in .streamlit/config.toml, the
# STREAMLIT_SERVER_MAX_UPLOAD_SIZE variable or --server.maxUploadSize to change it; the page reads that same value.
DEFAULT_UPLOAD_LIMIT_MB = 50
BYTES_PER_MB = tables.MB  # decimal, as Streamlit's uploader counts (but on Windows) and as score.py reports
UPLOAD_TYPES = ["xlsx", "xls", "csv", "tsv"]
# Wide enough for a model name as train.py makes them (a file name and a time stamp, some 30 characters) in the
# sidebar's model picker; Streamlit's default of 256 px cut such names off. The reader can still drag it.
SIDEBAR_PX = 340
PREVIEW_ROWS = 200  # enough to eyeball the result; the download holds every row
ETA_AFTER_S = 3  # a time-left estimate from the first batch or two is noise
THRESHOLD_STEP = 0.05
CHART_BAR_PX, CHART_AXIS_PX = 34, 50  # bar charts grow with their number of bars, so labels never overlap
CONFUSION_WIDTH_PX = 900
RELIABILITY_WIDTH_PX = 450
TOP_PHRASES = 8  # phrases in the explanation's chart
PHRASE_CHARS = 40  # a phrase's label in that chart is cut to this
REVIEW_BELOW = {False: 0.6, True: 0.2}  # "needs review" under this confidence at first (single-label, multi-label)
TOWARDS, AWAY = (26, 150, 65), (215, 48, 39)  # highlight colours (RGB): green pushed towards the label, red away
NO_LABEL_BAR = "(no label)"  # multi-label rows with no label at or above its threshold
TRAIN_COMMAND = "python train.py"
TRAIN_OWN_DATA_COMMAND = "python train.py --data my_reviews.xlsx --text-column review --label-column sentiment"


def main():
    st.set_page_config(page_title="Review scorer", page_icon=":bar_chart:", layout="wide",
                       initial_sidebar_state=SIDEBAR_PX)
    st.title("Review scorer")
    if not signed_in_ui():
        return
    available = model_folder.list_models()
    if not available:
        no_model_ui()
        return
    info = model_picker_ui(available)
    scorer = load_scorer_ui(info)
    if scorer is None:
        return
    model_details_ui(info)
    bars = thresholds_ui(info)
    one_review_tab, spreadsheet_tab, audit_tab = st.tabs(["One review", "A spreadsheet", "Labels to check"])
    with one_review_tab:
        one_review_ui(scorer, bars)
    with spreadsheet_tab:
        spreadsheet_ui(scorer, bars)
    with audit_tab:
        labels.label_audit_ui(scorer)
    labels.corrections_sidebar_ui(info)  # last: it counts the corrections this run may have just saved


def signed_in_ui():
    """Whether to show the page: yes when no sign-in is configured (then .streamlit/config.toml lets only this machine
    in), else only to a visitor signed in with the identity provider in .streamlit/secrets.toml [auth]
    (docs/deployment.md, "Sharing the page with a team")."""
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


def no_model_ui():
    st.warning(f"There is no trained model yet in `{model_folder.models_dir()}`, so there is nothing to score with.")
    st.markdown("Train one on the bundled sample reviews (a minute or two on a laptop) from the project folder:")
    st.code(TRAIN_COMMAND, language="bash")
    st.markdown("or on your own labelled file:")
    st.code(TRAIN_OWN_DATA_COMMAND, language="bash")
    st.markdown("Then reload this page.")


def model_picker_ui(available):
    """Sidebar: choose a model (the default first, marked) and show what it is and how well it did on validation."""
    by_name = {info.name: info for info in available}
    default = model_folder.default_name(available)
    with st.sidebar:
        st.header("Model")
        # The name alone in the box and its list: with the date and "default" beside it, a name as train.py makes
        # them (the data file's name and a time stamp) was cut off in the sidebar; those details go on the line below.
        name = st.selectbox("Model", list(by_name), key="model_name", label_visibility="collapsed",
                            help=f"Models found in {model_folder.models_dir()}: the default first, then newest first.")
        st.caption(plain(f"Trained {_date(by_name[name].created)}" + ("; the default model" if name == default
                                                                        else "")))
        info = by_name[name]
        model_card_ui(info, is_default=name == default)
    return info


def model_card_ui(info, is_default):
    kind = "multi-label (any number of labels per review)" if info.multilabel else "single-label (one class per review)"
    st.markdown(f"**Name:** {plain(info.name)}" + (" (the default)" if is_default else "") + "  \n"
                f"**{'Labels' if info.multilabel else 'Classes'}:** {plain(', '.join(info.classes))}  \n"
                f"**Type:** {kind}  \n**Trained:** {_date(info.created)}  \n"
                f"**Model:** {model_kind(info.record)}  \n**Reads:** {info.record.reading_text()}")
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


def load_scorer_ui(info):
    """The loaded model (shared by all sessions), or an error and None if the folder cannot be loaded."""
    try:
        return cached_scorer(str(info.path), info.created)
    except UserError as err:
        st.error(plain(err))
    except Exception as err:  # a damaged model folder must not take the page down with a traceback
        detail = " ".join(str(err).split())[:200]  # one line, however chatty the loader's message
        st.error(plain(f"Could not load model {info.name} ({type(err).__name__}: {detail}). "
                       f"Pick another model in the sidebar, or train this one again: {TRAIN_COMMAND}"))
    return None


@st.cache_resource(show_spinner="Loading the model (once; it takes a few seconds)...", max_entries=4)
def cached_scorer(model_dir, created):
    """Load a model once per folder and training run (`created` makes a retrained folder load afresh).

    One review is scored at once: the first call traces the model's graph (about 8 s on 2 cores), which belongs
    under "Loading the model", not on the analyst's first click."""
    scorer = models.load_scorer(model_dir)
    scorer.score_batch(["warm up"])
    return scorer


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


# ---------------------------------------------------------------------------------------------------------------------
# One review


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
        key = "review-" + review_key(scorer.info.name, text)
        explanation_ui(scorer, text, score.labels[0] if score.labels else next(iter(score.probabilities)), key)
        labels.correction_ui(scorer, text, score, key)


def review_key(*parts):
    """A short key naming one review (model, text, ...) for the widgets that belong to it."""
    return hashlib.sha256("\0".join(map(str, parts)).encode("utf-8", "surrogatepass")).hexdigest()[:12]


def review_result_ui(score, scorer_record):
    if score.multilabel:
        headline = score.label or f"no label reaches its threshold ({score.thresholds.describe()})"
        st.metric("Predicted labels", headline)
    else:
        st.metric("Predicted class", score.label)
        st.caption(f"with {score.probabilities[score.label]:.1%} probability")
    if score.truncated:
        part = {pieces.HEAD: "only the first part", pieces.HEAD_TAIL: "only the start and the end"}.get(
            scorer_record.reading, "part")
        st.warning(f"This review is long ({score.token_count:,} word pieces): the model read {part} of it "
                   f"({score.pieces_read:,} pieces; it reads {scorer_record.reading_text()}).")
    if score.unlike_training:
        st.warning(unlike.text_warning(score.token_count - pieces.MARKERS, scorer_record))
    if not score.truncated and score.token_count > (scorer_record.maxlen or 0):
        st.caption(f"A long review ({score.token_count:,} word pieces): read whole, in windows "
                   f"{pieces.windows_text(scorer_record.window_overlap)}.")
    table = pd.DataFrame({"class": list(score.probabilities), "probability": list(score.probabilities.values())})
    if score.multilabel:
        table["threshold"] = table["class"].map(score.thresholds.of)
        table["assigned"] = table["probability"] >= table["threshold"]
    chart_column, numbers_column = st.columns([3, 2])
    chart_column.altair_chart(probability_chart(table), width="stretch")
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
        st.altair_chart(phrase_chart(explanation, strongest), width="stretch")


def highlighted_html(explanation):
    """The review as HTML, each phrase's background coloured by its weight; the text itself is escaped."""
    text, parts, last = explanation.text, [], 0
    top = max((abs(p.weight) for p in explanation.phrases), default=0) or 1
    for phrase in explanation.phrases:
        red, green, blue = TOWARDS if phrase.weight > 0 else AWAY
        alpha = 0.75 * abs(phrase.weight) / top
        parts.append(html.escape(text[last:phrase.start]))
        parts.append(f'<span style="background-color: rgba({red}, {green}, {blue}, {alpha:.2f}); border-radius: 3px" '
                     f'title="{phrase.weight:+.3f}">{html.escape(text[phrase.start:phrase.end])}</span>')
        last = phrase.end
    parts.append(html.escape(text[last:]))
    return f'<div style="white-space: pre-wrap; line-height: 1.9">{"".join(parts)}</div>'


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


# ---------------------------------------------------------------------------------------------------------------------
# A spreadsheet


def spreadsheet_ui(scorer, bars):
    limit_bytes = upload_limit_mb() * BYTES_PER_MB
    uploaded = st.file_uploader("Upload a table of reviews", type=UPLOAD_TYPES, key="upload",
                                help=f"Excel (.xlsx, .xls) or CSV, up to {upload_limit_mb()} MB. Every row comes back "
                                     "in the same order with all its columns, plus the model's scores.")
    st.caption(f"Up to {upload_limit_mb()} MB ({limit_bytes:,} bytes) per file: a larger one is refused as it is "
               "dropped here. Split larger files, or save just the needed columns as .csv.")
    if uploaded is None:
        for key in ("parsed_upload", "bulk_result"):  # the file was removed: free its memory
            st.session_state.pop(key, None)
        st.caption("Each row is scored; rows without text are kept and flagged, never dropped.")
        return
    data = uploaded.getvalue()
    if len(data) > limit_bytes:
        st.error(plain(f"{uploaded.name} is {len(data) / BYTES_PER_MB:.1f} MB, over this page's {upload_limit_mb()} MB "
                       "limit. Split it into smaller files or save just the needed columns as .csv, or ask whoever "
                       "runs the page to raise server.maxUploadSize in .streamlit/config.toml."))
        return
    table_id = hashlib.sha256(data).hexdigest()[:16]
    try:
        df, sheet = read_upload_ui(data, uploaded.name, table_id, limit_bytes)
        scoring.check_has_rows(df, f'Sheet "{sheet}" of {uploaded.name}' if sheet else uploaded.name)
    except UserError as err:
        st.error(plain(err))
        return
    text_column = text_column_ui(df, f"{table_id}-{sheet}")
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


def upload_limit_mb():
    """server.maxUploadSize if anyone set it, else our default (Streamlit's own default of 200 MB is too much here)."""
    if st_config.get_where_defined("server.maxUploadSize") == st_config.ConfigOption.DEFAULT_DEFINITION:
        return DEFAULT_UPLOAD_LIMIT_MB
    return int(st.get_option("server.maxUploadSize"))


def read_upload_ui(data, filename, table_id, limit_bytes):
    """(table, sheet) of the upload: the sheet the analyst picked; until then the one holding text (tables.TEXT_SHEET),
    preselected in the picker with a note saying why. The sheet picker sits above the reading's progress and stays up
    when a sheet cannot be read, so another can be picked."""
    picker = st.container()
    key = f"sheet-{table_id}"
    chosen = st.session_state.get(key) or tables.TEXT_SHEET
    try:
        df = parsed_once(table_id, ("table", chosen), lambda: read_with_progress(data, filename, chosen, limit_bytes))
    except UserError:
        sheets_ui(picker, table_id)
        raise
    parsed_once(table_id, "sheets", lambda: df.attrs.get("sheets") or [])
    if chosen is tables.TEXT_SHEET and df.attrs.get("sheet_note"):
        st.session_state[key] = df.attrs["sheet"]  # the picker shows the sheet read; picking it reads nothing again
        st.session_state["parsed_upload"][("table", df.attrs["sheet"])] = df
    sheets_ui(picker, table_id)
    if df.attrs.get("sheet_note"):
        picker.caption(plain(df.attrs["sheet_note"] + " Pick another sheet above to score it instead."))
    if df.attrs.get("blank_rows_skipped"):
        picker.caption(plain(tables.blank_rows_sentence(df.attrs["blank_rows_skipped"])))
    return df, df.attrs.get("sheet")


def sheets_ui(container, table_id):
    sheets = st.session_state["parsed_upload"].get("sheets") or []
    if len(sheets) > 1:
        container.selectbox("Sheet", sheets, key=f"sheet-{table_id}")


def read_with_progress(data, filename, sheet, limit_bytes):
    """Read the upload in its stoppable reader (predictor/tables.py), saying how far it got. Streamlit's Stop, or
    a rerun, raises out of the progress call, which stops the reader."""
    status = st.empty()

    def show(progress):
        rows = f", {progress.count:,} rows so far" if progress.count else ""
        status.caption(plain(f"Reading {filename} ({progress.elapsed_s:.0f} s{rows}) ..."))

    try:
        return tables.read_table(data, filename=filename, sheet=sheet, max_bytes=limit_bytes, on_progress=show)
    finally:
        status.empty()


def text_column_ui(df, widget_id):
    """The column to score: guessed as the longest text on average, or the analyst's pick among all columns."""
    columns = list(df.columns)
    guessed = tables.guess_text_column(df)
    text_column = st.selectbox("Column with the review text", columns,
                               index=columns.index(guessed) if guessed is not None else None,
                               key=f"text_column-{widget_id}", placeholder="Pick the column that holds the reviews",
                               help="Guessed as the column with the longest text on average; change it if wrong.")
    if guessed is None and text_column is None:
        st.warning("No column looks like text: each holds mostly numbers, dates, codes or blanks. Pick the one that "
                   "holds the reviews; rows without text in it are kept and flagged, not scored.")
    return text_column


def parsed_once(table_id, what, parse):
    """`parse()`'s result, or its UserError, remembered for this upload: every click reruns the page, and parsing a
    big file again each time would make the page crawl. Only the latest upload and sheet are kept in memory."""
    cache = st.session_state.setdefault("parsed_upload", {})
    if cache.get("table_id") != table_id:
        cache.clear()
        cache["table_id"] = table_id
    if what not in cache:
        if isinstance(what, tuple):  # one parsed sheet at a time
            for key in [key for key in cache if isinstance(key, tuple)]:
                del cache[key]
        try:
            cache[what] = parse()
        except UserError as err:
            cache[what] = err
    if isinstance(cache[what], UserError):
        raise cache[what]
    return cache[what]


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
        st.altair_chart(label_count_chart(counts), width="stretch")
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
    positions = preview_positions(scored, review_first)
    st.markdown(f"**Preview** ({'first ' if len(positions) < rows else ''}{len(positions):,} of {counted(rows, 'row')}"
                + (", those that need review first" if review_first else "") + ")")
    preview_table_ui(scored, positions)
    explain_row_ui(scorer, scored, positions)
    labels.corrections_editor_ui(scorer, scored, positions, file_name)
    labels.label_next_ui(scorer, scored, file_name)
    if flagged:
        with st.expander(f"Rows not scored ({flagged:,})"):
            positions = (~scored.scored).to_numpy().nonzero()[0]
            preview_table_ui(scored, positions[:PREVIEW_ROWS])


def review_ui(scored, calibrated):
    """How sure the model was of each row, and the bar under which a row needs a human; returns that bar. With
    calibrated probabilities (single-label), how many of the rows under the bar are likely wrong: a row with the
    winning class at 0.7 is wrong 3 times in 10."""
    confidence = scored.confidence().dropna()
    with st.expander("How sure the model is, and which rows need review", expanded=True):
        what = ("a label's distance from its threshold, as a share of the way to 0 or 1" if scored.multilabel
                else "the winning class's probability")
        below = st.slider("A row needs review when the model's confidence is below", 0.0, 1.0,
                          REVIEW_BELOW[scored.multilabel], THRESHOLD_STEP, key="review_below",
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
            st.altair_chart(confidence_chart(confidence, below), width="stretch")
    return below


def confidence_chart(confidence, below):
    table = pd.DataFrame({"confidence": confidence.to_numpy()})
    bars = alt.Chart(table).mark_bar().encode(
        x=alt.X("confidence:Q", bin=alt.Bin(extent=[0, 1], step=0.05), title="Confidence"),
        y=alt.Y("count():Q", title="Rows"))
    rule = alt.Chart(pd.DataFrame({"below": [below]})).mark_rule(color="red", strokeDash=[4, 4]).encode(x="below:Q")
    return (bars + rule).properties(height=180)


def preview_positions(scored, review_first):
    """Row positions to preview: in order, or those needing review (least sure first) and then the rest."""
    if not review_first:
        return range(min(PREVIEW_ROWS, len(scored.frame)))
    confidence = scored.confidence()
    needing = confidence[scored.frame[scored.review_column] == scoring.REVIEW_FLAG].sort_values(kind="stable")
    rest = [i for i in range(len(scored.frame)) if scored.frame.index[i] not in needing.index]
    ordered = [scored.frame.index.get_loc(i) for i in needing.index] + rest
    return ordered[:PREVIEW_ROWS]


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


def label_count_chart(label_counts):
    """Horizontal bars of rows per label, most first, each with its count written at its end."""
    base = alt.Chart(label_counts).encode(
        x=alt.X("rows:Q", title="Rows", axis=alt.Axis(format="d", tickMinStep=1)),
        y=alt.Y("label:N", sort="-x", title=None), tooltip=["label", "rows"])
    chart = base.mark_bar() + base.mark_text(align="left", dx=4).encode(text=alt.Text("rows:Q", format=","))
    return chart.properties(height=bar_chart_height(len(label_counts)))


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


def bar_chart_height(bars):
    return CHART_AXIS_PX + CHART_BAR_PX * bars


def _duration(seconds):
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _date(iso_timestamp):
    """'2026-11-23T10:00:00' -> '2026-11-23 10:00' for people; anything unparsable is shown as is."""
    try:
        return pd.Timestamp(iso_timestamp).strftime("%Y-%m-%d %H:%M")
    except (ValueError, TypeError):
        return iso_timestamp or "unknown date"


if __name__ == "__main__":
    main()
