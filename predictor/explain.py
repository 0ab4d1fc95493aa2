"""Why a review got its label: which words or phrases pushed the model towards a class, and which away from it.

Method: occlusion. Each phrase is left out in turn and the review scored again; a phrase's weight is how much the
class's probability drops without it (negative: it rises, so the phrase pushed away). It is exact about the model as
it scores (members, blend, reading and markup handling included), works for every model kind and for multi-label
(the label the analyst picks), and needs nothing beyond the model. ktrain's own route, `predictor.explain()`, is LIME
through eli5, which samples thousands of perturbed texts; occlusion needs one variant per phrase.

The model scores the text and each variant without one phrase (Model.score_without in predictor/models.py): both
members really score the text without the phrase, and the model blends them as it blends any scores. BERT is not
given a [MASK] token in its place: the fine-tuned model never saw one there, and on the sample's reviews masked
weights gave every phrase the same sign in 9 of 15 explanations (issue 19), while leaving phrases out gave mixed
signs. Cost is kept in bounds two ways. A long review is cut into at most MAX_PHRASES phrases of neighbouring words,
so a 300-word review costs some 60 variants, not 300. And BERT reads the variants' windows as it reads any text's
(its reading and overlap) but scores each distinct window once: the windows before a phrase are the same in its
variant as in the whole text, so only the windows from the phrase on are read again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from predictor import markup

if TYPE_CHECKING:
    from predictor.models import Model
    from predictor.scorer import Scorer

MAX_PHRASES = 60
METHOD = ("occlusion: each phrase left out in turn; its weight is how much the probability of the class drops "
          "without it")


@dataclass(frozen=True)
class Phrase:
    start: int  # character offsets in Explanation.text
    end: int
    weight: float  # probability of the class with the phrase minus without it


@dataclass(frozen=True)
class Explanation:
    text: str  # the text as the model read it (HTML turned into text, if the model does that)
    label: str
    probability: float
    phrases: list[Phrase]
    method: str = METHOD

    def strongest(self, n: int) -> list[Phrase]:
        """The n phrases with the largest weights either way, strongest first."""
        return sorted(self.phrases, key=lambda p: abs(p.weight), reverse=True)[:n]


def explain_with_scorer(scorer: "Scorer", text: str, label: str) -> Explanation:
    """explain() with a Scorer shared between threads (the page's sessions): one call of its model at a time."""
    with scorer.lock:
        return explain(scorer.model, text, label)


def explain(model: "Model", text: str, label: str) -> Explanation:
    """Occlusion weights of each phrase of `text` for `label` (one of model.classes)."""
    column = model.classes.index(label)
    text = markup.to_text(str(text), model.markup)
    spans = phrases(text)
    probabilities = model.score_without(text, spans)[:, column]
    weights = probabilities[0] - probabilities[1:]
    return Explanation(text, label, float(probabilities[0]),
                       [Phrase(start, end, float(w)) for (start, end), w in zip(spans, weights)])


def phrases(text: str) -> list[tuple[int, int]]:
    """Character spans of at most MAX_PHRASES runs of neighbouring words covering every word of `text`."""
    words = [m.span() for m in re.finditer(r"\S+", text)]
    size = max(1, -(-len(words) // MAX_PHRASES))
    return [(words[i][0], words[min(i + size, len(words)) - 1][1]) for i in range(0, len(words), size)]
