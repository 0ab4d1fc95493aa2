"""Every figure that README.md, docs/*.md and bench/README.md quote comes from a results file: `python -m
bench.figures` checks.

A quoted figure is a Markdown link whose text is the figure and whose target is the results file, relative to the
document as every Markdown link is (../bench/results/... from docs/), and the key that holds it, dots between the
keys, or slashes when a key holds a dot (list items by number; spaces and brackets URL-encoded, %20 %28 %29):

    the hybrid scores [93.1%](bench/results/imdb.json#results.models.product.accuracy) on IMDB

The check reads the key and fails when the figure does not round to what is shown, when the file is a `--quick` run
or marked `not_for_quoting` (measured on a tree that differed from its commit), and when a number that looks measured
(a percentage, a ratio such as 1.5x, a time, a size or a rate) stands in prose without such a link. Settings are not
measurements: the few a README states with a unit (the upload cap, the reading limits) are listed in SETTINGS with
the code that sets them. Code, code blocks and the results table that bench/common.py generates are not prose.

Units: the innermost key that names a unit gives it (results.peak_rss_mb.median holds MB): `_s` (not `_per_s`) or
`seconds` holds seconds, shown in s, ms or min; `_mb` holds MB, shown in MB or GB (1 GB = 1024 MB, as bench writes
them); a fraction (at most 1) shown with % is multiplied by 100.
"""
from __future__ import annotations

import json
import re
import urllib.parse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# docs/ holds what README links to (the model folder, security, deployment, dependencies, benchmark summaries),
# figures included: every file there is checked, a new one too.
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "bench" / "README.md"]

# Figures with a unit that are settings, not measurements, and where they are set.
SETTINGS = {
    "25 s": "predictor/tables/reading.py READ_LIMITS: how long reading an upload may take",
    "1 GB": "predictor/tables/reading.py READ_LIMITS: how much memory reading an upload may take",
    "50 MB": ".streamlit/config.toml server.maxUploadSize, predictor/tables/files.py MAX_TABLE_BYTES",
    "10%": "predictor/training/settings.py DEFAULT_VAL_FRACTION and bench's VAL_FRACTION: rows held out for validation",
    "95%": "predictor/training/plan.py MAXLEN_PERCENTILE: the share of texts the automatic maxlen reads whole",
}

NUMBER = r"-?\d[\d,]*(?:\.\d+)?"
UNIT = r"%|x|ms|s|min|minutes|GB|MB|[a-z]+/s"
FIGURE = re.compile(rf"^(?:about |~)?({NUMBER})\s?({UNIT})?$")
LINK = re.compile(r"\[([^\]]+)\]\(([^)#\s]+\.json)#([^)\s]+)\)")
MEASURED = re.compile(rf"(?<![\w.\-])({NUMBER})\s?(%|x\b|ms\b|s\b|min\b|minutes\b|GB\b|MB\b|[a-z]+/s\b)")
TABLE = re.compile(r"<!-- results-table:start -->.*?<!-- results-table:end -->", re.S)
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)


def prose(text: str) -> str:
    """The text without code and bench's generated table, each replaced by its line breaks (line numbers hold)."""
    blank = lambda match: "\n" * match.group(0).count("\n") or " "  # noqa: E731
    return CODE.sub(blank, TABLE.sub(blank, text))


def _name(document: Path) -> str:
    document = document.resolve()
    return str(document.relative_to(REPO)) if document.is_relative_to(REPO) else str(document)


def value_at(record, key: str):
    for part in key.split("/" if "/" in key else "."):
        if isinstance(record, list):
            record = record[int(part)]
        else:
            record = record[part]
    return record


def converted(value: float, key: str, unit: str | None) -> float:
    # The unit is named by the innermost key that names one: results.peak_rss_mb.median holds MB.
    parts = key.split("/" if "/" in key else ".")
    named = next((part for part in reversed(parts) if part.endswith(("_s", "_mb")) or part == "seconds"), "")
    if unit == "%" and abs(value) <= 1:
        return value * 100
    if (named.endswith("_s") and not named.endswith("_per_s")) or named == "seconds":
        return {"ms": value * 1000, "min": value / 60, "minutes": value / 60}.get(unit, value)
    if named.endswith("_mb") and unit == "GB":
        return value / 1024
    return value


def matches(shown: str, value: float) -> bool:
    decimals = len(shown.split(".")[1]) if "." in shown else 0
    return abs(round(value, decimals) - float(shown.replace(",", ""))) <= 10 ** -decimals / 2 + 1e-9


def check_link(document: Path, text: str, target: str, key: str) -> str | None:
    """What is wrong with one quoted figure, or None. A key with spaces or brackets is written URL-encoded."""
    key = urllib.parse.unquote(key)
    where = f"{_name(document)}: [{text}]({target}#{key})"
    figure = FIGURE.match(text.strip())
    if not figure:
        return f"{where}: the link text must be the figure alone (a number and its unit)"
    path = (document.parent / target).resolve()
    if not path.is_file():
        return f"{where}: {target} does not exist"
    record = json.loads(path.read_text())
    if record.get("quick"):
        return f"{where}: a --quick run is a smoke check, not a measurement"
    if record.get("not_for_quoting"):
        return f"{where}: the file is not for quoting ({record['not_for_quoting']})"
    versions = record.get("versions", {})
    if versions.get("product_code_modified_since_commit") or versions.get("tracked_files_modified_since_commit"):
        return f"{where}: measured on a tree that differed from its commit ({versions.get('git_commit')})"
    try:
        value = value_at(record, key)
    except (KeyError, IndexError, ValueError, TypeError):
        return f"{where}: {target} has no key {key}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{where}: {key} is {value!r}, not a number"
    shown, unit = figure.groups()
    if not matches(shown, converted(value, key, unit)):
        return f"{where}: the source says {value!r}"
    return None


def problems(document: Path) -> list[str]:
    """Every figure in `document` that has no source, or does not match it."""
    text = prose(document.read_text())
    found = [problem for link in LINK.finditer(text) if (problem := check_link(document, *link.groups()))]
    for line_no, line in enumerate(LINK.sub(" ", text).splitlines(), 1):
        for match in MEASURED.finditer(line):
            figure = f"{match.group(1)} {match.group(2)}".replace(" %", "%").replace(" x", "x")
            if figure not in SETTINGS:
                found.append(f"{_name(document)}: '{match.group(0)}' has no source: link it to a results file and key "
                             f"([{match.group(0)}](results/NAME.json#KEY)), or remove it (prose line {line_no}: "
                             f"{line.strip()[:80]!r})")
    return found


def main(argv=None) -> int:
    documents = [Path(a) for a in (argv if argv is not None else sys.argv[1:])] or DOCUMENTS
    found = [problem for document in documents for problem in problems(document)]
    for problem in found:
        print(problem)
    print(f"{len(found)} figure(s) without a matching source in {', '.join(_name(d) for d in documents)}"
          if found else f"every figure in {', '.join(_name(d) for d in documents)} matches its source")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
