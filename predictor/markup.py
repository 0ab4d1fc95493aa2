"""Markup in reviews turned into the text a reader sees, the same way at training and at scoring.

Reviews scraped from the web carry HTML: `<br />` appears in 107 of the 200 IMDB sample reviews. Fed as is, every
tag costs BERT word pieces ("<br />" is 5 of them, out of 128) and gives NBSVM n-grams that say nothing about the
review. A model records which way it was trained (training.json `markup`) and models.Model applies the same at
scoring, so the two can never differ.
"""
from __future__ import annotations

import html
import re

HTML = "html"  # tags become line breaks or nothing, entities become characters
KEEP = "keep"  # the text as written (models saved before this existed)
MARKUPS = (HTML, KEEP)

# Only what is unmistakably markup: a tag of HTML's own (so "a < b", "<3" and "<<great>>" stay), a comment, an entity.
_ELEMENTS = ("a|abbr|b|big|blockquote|body|br|center|cite|code|dd|del|div|dl|dt|em|font|h[1-6]|head|hr|html|i|img|"
             "ins|li|mark|ol|p|pre|q|s|small|span|strike|strong|sub|sup|table|tbody|td|th|thead|tr|tt|u|ul")
_DROPPED_BLOCKS = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_LINE_BREAKS = re.compile(r"<\s*(?:br|/?p|/?div|/?li|/?tr|/?h[1-6])\b[^<>]*>", re.IGNORECASE)
_TAGS = re.compile(rf"</?(?:{_ELEMENTS})(?:\s[^<>]*)?/?>", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_SPACES = re.compile(r"[ \t\f\v]+")
_LINES = re.compile(r" *\n[ \n]*")


def to_text(text: str, markup: str = HTML) -> str:
    """`text` as a reader of the rendered page sees it (HTML), or unchanged (KEEP)."""
    if markup == KEEP or ("<" not in text and "&" not in text):
        return text
    if not (_TAGS.search(text) or _ENTITY.search(text) or _DROPPED_BLOCKS.search(text)):
        return text
    text = _DROPPED_BLOCKS.sub(" ", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = html.unescape(_TAGS.sub(" ", text))
    return _LINES.sub("\n", _SPACES.sub(" ", text)).strip()


def check(markup: str) -> str:
    if markup not in MARKUPS:
        raise ValueError(f"unknown markup handling {markup!r}; use one of {MARKUPS}")
    return markup
