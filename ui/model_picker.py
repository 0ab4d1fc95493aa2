"""Choosing the model: the sidebar's picker (the default first) with the chosen model's card, the model loaded once
for every session, and what to do when there is no model yet or a folder cannot be loaded."""
import streamlit as st

from predictor import model_folder
from predictor.scorer import load_scorer
from predictor.errors import UserError
from ui import model_card
from ui.words import date_text, plain

TRAIN_COMMAND = "python train.py"
TRAIN_OWN_DATA_COMMAND = "python train.py --data my_reviews.xlsx --text-column review --label-column sentiment"


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
        st.caption(plain(f"Trained {date_text(by_name[name].created)}" + ("; the default model" if name == default
                                                                           else "")))
        info = by_name[name]
        model_card.model_card_ui(info, is_default=name == default)
    return info


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
    scorer = load_scorer(model_dir)
    scorer.score_batch(["warm up"])
    return scorer
