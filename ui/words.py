"""The page's wording helpers: data shown as plain text, counts in words, long texts cut short, dates for people."""
import re

import pandas as pd

# Markdown's punctuation (CommonMark escapes any ASCII punctuation with a backslash) plus ':' for Streamlit's
# :color[...] directives and '.', which with ':' keeps bare addresses from becoming links.
MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&^\"'])")


def counted(n, noun):
    """'1 row', '2 rows': a count and its noun, in the page's words."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def plain(text):
    """`text` from the data (class, column, sheet and file names, and messages quoting them) escaped so that Markdown
    shows it as typed: a class named ![t](http://host/t.png) would otherwise make every visitor's browser fetch it."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", str(text))


def cut(text, chars):
    """`text`, or its first `chars` - 3 characters and "..." when it is longer."""
    return text if len(text) <= chars else text[:chars - 3] + "..."


def date_text(iso_timestamp):
    """'2026-11-23T10:00:00' -> '2026-11-23 10:00' for people; anything unparsable is shown as is."""
    try:
        return pd.Timestamp(iso_timestamp).strftime("%Y-%m-%d %H:%M")
    except (ValueError, TypeError):
        return iso_timestamp or "unknown date"
