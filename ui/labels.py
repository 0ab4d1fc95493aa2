"""The page's part for labels: corrections of a scored review or file, the training file's labels the audit disputes
(train.py's label_issues.csv), and the rows worth labelling next. Every label given here is a correction in the
models folder's store (predictor/corrections/store.py), learnt by the next python train.py ... --corrections MODEL."""
from pathlib import Path

import pandas as pd
import streamlit as st

from predictor import audit, corrections, label_next
from predictor.tables import writing
from predictor.errors import UserError
from ui.words import counted, cut, plain

AS_PREDICTED = "(as predicted)"  # a "right label" cell of the bulk corrections that corrects nothing
NOT_CHECKED = "(not checked)"  # a label cell of the audit or the queue that nobody has decided yet


def correction_ui(scorer, text, score, key):
    """'The right label is X': stored for this model, to be learnt by the next one (train.py --corrections)."""
    with st.expander("Wrong label? Correct it"):
        if score.multilabel:
            right = st.multiselect("The right labels are", scorer.classes, default=score.labels,
                                   key=f"right_labels-{key}")
        else:
            right = [st.selectbox("The right label is", scorer.classes, index=scorer.classes.index(score.label),
                                  key=f"right_label-{key}")]
        if st.button("Save correction", key=f"save_correction-{key}"):
            save_corrections_ui(scorer, [corrections.Correction(
                model=scorer.info.name, text=text, model_label=score.label, probabilities=score.probabilities,
                corrected_label=joined(scorer, right))])


def save_corrections_ui(scorer, new):
    """Store corrections for this model and say how many it has now, or why they could not be stored. A correction
    this session already saved (same model, text, label, file and row: a second click) is not stored again."""
    saved = st.session_state.setdefault("saved_corrections", set())
    identity = lambda c: (c.model, c.text, c.corrected_label, c.source_file, c.source_row)  # noqa: E731
    fresh = [c for c in new if identity(c) not in saved]
    store = corrections.CorrectionsStore(corrections.store_path())
    try:
        for correction in fresh:
            store.add(correction)
            saved.add(identity(correction))
    except UserError as err:
        st.error(plain(err))
        return
    again = (f" ({len(new) - len(fresh):,} saved already in this session, not stored twice)"
             if len(fresh) < len(new) else "")
    st.success(plain(f"Saved {len(fresh):,}{again}. This model has {store.count(scorer.info.name):,} correction(s); "
                     f"a model trained with python train.py ... --corrections {scorer.info.name} learns from them."))


def joined(scorer, labels):
    """Labels as a correction stores them: one class, or for multi-label every label in class order."""
    return corrections.join_labels(labels, scorer.classes) if scorer.multilabel else labels[0]


def corrections_sidebar_ui(info):
    """How many corrections this model has, and all of them as a download."""
    store = corrections.CorrectionsStore(corrections.store_path())
    try:
        count = store.count(info.name)
    except UserError as err:
        st.sidebar.error(plain(err))
        return
    with st.sidebar:
        st.caption(f"Corrections made on this model: {count:,}")
        if count:
            files = corrections_files(store, info.name, count)
            buttons = st.container(horizontal=True)
            buttons.download_button("Corrections .csv", files["csv"], key="corrections_csv",
                                    file_name=f"{info.name}_corrections.csv", mime="text/csv", on_click="ignore")
            buttons.download_button("Corrections .xlsx", files["xlsx"],
                                    key="corrections_xlsx", file_name=f"{info.name}_corrections.xlsx",
                                    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                    on_click="ignore")


def corrections_files(store, model, count):
    """The model's corrections as .csv and .xlsx bytes, built again only when their count changes: the sidebar runs
    on every rerun, and reading the database and writing a workbook each time would slow every click."""
    cached = st.session_state.get("corrections_files")
    if not cached or cached[0] != (model, count):
        table = store.for_model(model)
        cached = ((model, count), {"csv": writing.to_csv_bytes(table),
                                   "xlsx": writing.to_xlsx_bytes(table, sheet_name="corrections")})
        st.session_state["corrections_files"] = cached
    return cached[1]


def corrections_editor_ui(scorer, scored, positions, file_name):
    """An editable 'right label' column beside the preview's scored rows; saved on request, row by row."""
    rows = [p for p in positions if scored.scored.iloc[p]]
    if not rows:
        return
    with st.expander("Correct labels"):
        frame = scored.frame
        table = pd.DataFrame({
            "row": [p + 1 for p in rows],
            "text": [cut(str(frame[scored.text_column].iloc[p]), 200) for p in rows],
            "predicted": [frame[scored.label_column].iloc[p] for p in rows],
            # Never an empty (null) cell: the browser draws one as a grey "None", which reads as a label. A
            # selectbox cell needs one of its options to show a value, so single-label cells start at AS_PREDICTED.
            "right label": ["" if scored.multilabel else AS_PREDICTED] * len(rows)})
        right = label_column(scored, "right label", AS_PREDICTED, "where the prediction is right")
        edited = st.data_editor(table, key="corrections_editor", hide_index=True, width="stretch",
                                disabled=["row", "text", "predicted"], column_config={"right label": right})
        chosen = [(rows[i], value) for i, value in enumerate(edited["right label"])
                  if isinstance(value, str) and value.strip() and value != AS_PREDICTED]
        if st.button(f"Save {len(chosen):,} correction(s)", key="save_corrections", disabled=not chosen):
            save_row_corrections_ui(scorer, scored, chosen, file_name)


def label_column(scored, title, unset, when):  # scored: a ScoredTable, or a Scorer (its classes, multilabel)
    """An editable label column: for multi-label, text (labels separated by commas, empty `when`); else one class
    or `unset` (`when`)."""
    if scored.multilabel:
        return st.column_config.TextColumn(title, help=f"Labels separated by commas; leave empty {when}.")
    return st.column_config.SelectboxColumn(title, options=[unset, *scored.classes], help=f"Leave {unset} {when}.")


def save_row_corrections_ui(scorer, scored, chosen, file_name, suggested_by=None):
    """Store (position, label cell) pairs of a scored table as corrections from `file_name` and its rows; a label
    cell holds one class, or for multi-label classes separated by commas. Nothing is stored if a label is unknown."""
    frame, new, unknown = scored.frame, [], set()
    for position, value in chosen:
        labels = [v.strip() for v in value.split(",")] if scored.multilabel else [value]
        unknown |= set(labels) - set(scored.classes) - {""}
        new.append(corrections.Correction(
            model=scored.model, text=str(frame[scored.text_column].iloc[position]),
            model_label=frame[scored.label_column].iloc[position],
            probabilities={c: float(frame[column].iloc[position]) for c, column in scored.probability_columns.items()},
            corrected_label=joined(scorer, [label for label in labels if label]), source_file=file_name,
            source_row=position + 1, suggested_by=suggested_by))
    if unknown:
        st.error(plain(f"Not a label of this model: {', '.join(sorted(unknown))}. Use: {', '.join(scored.classes)}."))
    else:
        save_corrections_ui(scorer, new)


def label_next_ui(scorer, scored, file_name):
    """The rows of this file worth labelling next (predictor/label_next.py), to label here: each label is stored as a
    correction from this file and row, proposed by the queue, so the next python train.py ... --corrections MODEL
    trains on it."""
    with st.expander("Rows worth labelling next"):
        n = st.number_input("How many", min_value=1, max_value=label_next.MAX_ROWS, value=label_next.DEFAULT_ROWS,
                            key="label_next_rows")
        rows = label_next.propose(scored, int(n))
        if not rows:
            st.caption("No scored rows to propose.")
            return
        st.caption(plain(f"The {counted(len(rows), 'row')} the model is least sure of, leaving out rows much like one "
                         f"already listed. Give each the label it should have (the predicted one too, where it is "
                         f"right) and save: the next python train.py --data ... --corrections {scored.model} "
                         "trains on them."))
        frame, sure = scored.frame, scored.confidence()
        table = pd.DataFrame({
            "row": [p + 1 for p in rows], "text": [cut(str(frame[scored.text_column].iloc[p]), 200) for p in rows],
            "predicted": [frame[scored.label_column].iloc[p] for p in rows],
            "how sure": [f"{sure.iloc[p]:.0%}" for p in rows],
            "label": ["" if scored.multilabel else NOT_CHECKED] * len(rows)})
        label = label_column(scored, "label", NOT_CHECKED, "for the rows you have not decided")
        edited = st.data_editor(table, key="label_next_editor", hide_index=True, width="stretch",
                                disabled=["row", "text", "predicted", "how sure"], column_config={"label": label})
        chosen = [(rows[i], value) for i, value in enumerate(edited["label"])
                  if isinstance(value, str) and value.strip() and value != NOT_CHECKED]
        if st.button(f"Save {len(chosen):,} label(s)", key="save_label_next", disabled=not chosen):
            save_row_corrections_ui(scorer, scored, chosen, file_name, corrections.LABEL_NEXT)


def label_audit_ui(scorer):
    """The training file's labels the audit disputes (train.py's label_issues.csv, predictor/audit.py), most doubtful
    first, for an analyst to confirm or fix. Each decision is stored as a correction from the training file and its
    row, proposed by the audit, so the next python train.py ... --corrections MODEL trains on it."""
    info = scorer.info
    found = info.record.label_audit
    issues = audit.read(info.path)
    if issues is None:
        st.info(plain(f"No label audit for this model: {found['why']}." if found.get("why") else
                      "No label audit for this model: it was trained before train.py audited labels. Train it again "
                      "to get one."))
        return
    if issues.empty:
        st.success(f"The audit disputes none of the {found.get('rows', 0):,} training labels.")
        return
    st.caption(plain(f"{counted(len(issues), 'training row')} of {found['rows']:,} have a label that a word-count "
                     "model, trained on the other rows, disputes; the most doubtful first. Where the given label is "
                     "right, choose it; where it is wrong, choose the right one; then save. The next python train.py "
                     f"--data ... --corrections {info.name} trains on your decisions."))
    table = pd.DataFrame({
        "row": issues["row"].replace({"": "(added)"}), "text": issues["text"].map(lambda t: cut(t, 200)),
        "given label": issues["given_label"], "suggested": issues["suggested_label"],
        "given label's probability": issues["label_quality"].map("{:.1%}".format),
        "right label": [NOT_CHECKED] * len(issues)})
    right = label_column(scorer, "right label", NOT_CHECKED, "for the rows you have not decided")
    edited = st.data_editor(table, key="audit_editor", hide_index=True, width="stretch", column_config={
        "right label": right}, disabled=[c for c in table.columns if c != "right label"])
    chosen = [(i, value) for i, value in enumerate(edited["right label"]) if value in scorer.classes]
    if st.button(f"Save {len(chosen):,} decision(s)", key="save_audit", disabled=not chosen):
        data = Path(info.record.data.get("path") or audit.FILE).name  # the rows are numbered as in this file
        save_corrections_ui(scorer, [corrections.Correction(
            model=info.name, text=issues["text"].iloc[i], model_label=issues["suggested_label"].iloc[i],
            probabilities={issues["given_label"].iloc[i]: float(issues["label_quality"].iloc[i])},
            corrected_label=value, source_file=data, suggested_by=corrections.AUDIT,
            source_row=None if issues["row"].iloc[i] == "" else int(issues["row"].iloc[i])) for i, value in chosen])
