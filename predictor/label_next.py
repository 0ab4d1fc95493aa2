"""Rows worth labelling next: of a scored file of reviews nobody has labelled, the N the model is least sure of, no
two alike (issue 20).

How sure the model is of a row is ScoredTable.confidence(), the one measure the page's needs-review bar uses too
(single-label: the winning class's probability; multi-label: how far the label nearest its threshold is from it).
The least sure rows alone would often be one complaint worded a dozen ways, which teaches the model one thing a dozen
times: so each row is also a bag of its words (hashed into HASH_BUCKETS, unit length), and a row whose cosine with
one already proposed reaches SIMILAR is passed over. When fewer than N rows are left that are unlike each other, the
rest are the least sure of those passed over. NumPy only: the page never imports scikit-learn.
"""
from __future__ import annotations

import re
import zlib

import numpy as np

HASH_BUCKETS = 2 ** 14
SIMILAR = 0.5  # cosine of two bags of words at or above which the second row is passed over
CANDIDATES_PER_ROW = 20  # the least sure N x this rows are compared; the rest of a large file cannot be proposed
DEFAULT_ROWS = 20
MAX_ROWS = 200
WORD = re.compile(r"\w+")
# Whether the least sure rows are taken from each predicted label in turn: the least sure rows of a model trained on a
# hundred labels can lean to one side and unbalance the next training set. Chosen on 2,000 IMDB dev rows no simulated
# analyst's pool holds: 80.9% at 500 labels in turn against 80.5% without (3 seeds, a word-count learner standing in
# for train.py; a gap within noise), bench/results/label_next.json `mean_accuracy.dev`.
BY_LABEL = True


def propose(table: object, n: int, by_label: bool = BY_LABEL) -> list[int]:
    """Positions (in table.frame) of the rows to label next, least sure first (`by_label`: taking each predicted
    label's least sure row in turn): scored rows only, n at most."""
    sure = table.confidence().to_numpy()
    scored = np.flatnonzero(~np.isnan(sure))
    order = scored[np.argsort(sure[scored], kind="stable")][:n * CANDIDATES_PER_ROW]
    if by_label:
        order = in_turn(order, table.frame[table.label_column].to_numpy())
    texts = table.frame[table.text_column]
    chosen, passed_over, bags = [], [], []
    for position in order:
        bag = bag_of_words(str(texts.iloc[position]))
        if any(float(bag @ other) >= SIMILAR for other in bags):
            passed_over.append(int(position))
            continue
        chosen.append(int(position))
        bags.append(bag)
        if len(chosen) == n:
            return chosen
    return chosen + passed_over[:n - len(chosen)]


def in_turn(order: np.ndarray, labels: np.ndarray) -> list[int]:
    """`order` regrouped by label, the groups taking turns (each in its own order), the first row's label first."""
    groups: dict = {}
    for position in order:
        groups.setdefault(labels[position], []).append(int(position))
    queues = [list(reversed(group)) for group in groups.values()]
    out = []
    while queues:
        out.extend(queue.pop() for queue in queues)
        queues = [queue for queue in queues if queue]
    return out


def bag_of_words(text: str) -> np.ndarray:
    """The text's lower-cased words counted into HASH_BUCKETS (crc32: the same buckets in every process), unit
    length; all zeros for a text without words."""
    ids = [zlib.crc32(word.encode("utf-8", "surrogatepass")) % HASH_BUCKETS for word in WORD.findall(text.lower())]
    counts = np.bincount(ids, minlength=HASH_BUCKETS).astype(float)
    norm = np.linalg.norm(counts)
    return counts / norm if norm else counts
