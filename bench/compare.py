"""Do two commits give the same figures? Each `--quick` benchmark runs in a clean worktree of either commit, and every
figure of their results is compared, times, memory and load left out (issue 21: a restructuring changes no behaviour).

    python -m bench.compare a9da961                       # that commit against HEAD, every quick benchmark
    python -m bench.compare a9da961 --only imdb lowdata   # some of them

A figure is any number or string under a results file's "results": accuracies, F1s, chosen rates and weights, label
agreement, row counts and statuses. What a run measures of the machine (keys in seconds, rows or examples per second,
MB, ratios of speeds) differs from run to run and is not compared. The results go to
bench/results/compare-<before>.json. Both commits run one after the other on this
machine with the same libraries (this venv), so a figure that differs was changed by the code between them.
"""
import json
import re
import subprocess
import sys

from bench.common import DATA, REPO, TMP, Run, fmt_s, log, parser

# Every benchmark with a --quick run, in the order they run (the quickest first). bench.tests is left out: it only
# times the tests.
QUICK = ["multiclass", "multilabel", "app", "score", "imdb", "sample", "unlabelled", "lowdata", "self_training",
         "explain", "hostile", "ray_scale"]
# What a run measures of the machine and the moment, by the words of its key: times (s, ms, minutes, latency),
# memory (MB, RSS), speed ratios, load, dates and a record's checksum (it holds the run's times). And "bytes": the
# size of a file bench.hostile writes as its input, a workbook whose zip holds the time it was written.
MEASURED = re.compile(r"(^|_)(s|ms|seconds|minutes|mb|rss|ratio|load|wall|latency|date|started_at|finished_at|sha256)"
                      r"(_|$)|^bytes$")


def figures(results, path=()) -> dict:
    """{"a.b.0": value} for every number and string under `results`, the machine's measures left out."""
    if isinstance(results, dict):
        found = {}
        for key, value in results.items():
            if not MEASURED.search(str(key)):
                found.update(figures(value, (*path, str(key))))
        return found
    if isinstance(results, list):
        return {key: value for i, item in enumerate(results) for key, value in figures(item, (*path, str(i))).items()}
    return {".".join(path): results} if isinstance(results, (int, float, str, bool)) else {}


def run_quick(commit: str, names: list[str]) -> dict:
    """{name: figures} of each benchmark's --quick run in a fresh worktree of `commit` (skipped where it has none)."""
    place = TMP / "compare"  # the worktree's ../shared must be the data, as it is for the repository
    place.mkdir(parents=True, exist_ok=True)
    if not (place / "shared").exists():
        (place / "shared").symlink_to(DATA.parent)
    tree = place / commit[:12]
    subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, capture_output=True)
    subprocess.run(["git", "worktree", "add", "-q", "--detach", str(tree), commit], cwd=REPO, check=True)
    found = {}
    try:
        for name in names:
            if not (tree / "bench" / f"{name}.py").is_file():
                log(f"{commit[:8]}: bench.{name} does not exist there: skipped")
                continue
            log(f"{commit[:8]}: python -m bench.{name} --quick")
            done = subprocess.run([sys.executable, "-m", f"bench.{name}", "--quick"], cwd=tree, capture_output=True,
                                  text=True)
            if done.returncode != 0:
                raise SystemExit(f"bench.{name} --quick failed on {commit}:\n{(done.stdout + done.stderr)[-3000:]}")
            text = (tree / "bench" / "results" / f"{name}-quick.json").read_text()
            # Paths inside the worktree (a model's folder) name the commit's worktree: the same place in either.
            found[name] = figures(json.loads(text.replace(str(tree), "<worktree>"))["results"])
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, capture_output=True)
    return found


def differences(before: dict, after: dict) -> dict:
    """Each figure whose value is not the same in both, or that one of them lacks: {key: [before, after]}."""
    return {key: [before.get(key), after.get(key)] for key in sorted(before.keys() | after.keys())
            if before.get(key) != after.get(key)}


def commit_of(name: str) -> str:
    done = subprocess.run(["git", "rev-parse", "--verify", f"{name}^{{commit}}"], cwd=REPO, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(f"{name} is not a commit of this repository: give a hash or a branch (git log --oneline).")
    return done.stdout.strip()


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("before", help="the commit to compare with HEAD")
    p.add_argument("--only", nargs="+", choices=QUICK, help="these benchmarks only")
    args = p.parse_args(argv)
    before, after = commit_of(args.before), commit_of("HEAD")
    names = args.only or QUICK
    run = Run(f"compare-{before[:7]}", args.quick, {"before": before, "after": after, "benchmarks": names})
    figures_before, figures_after = run_quick(before, names), run_quick(after, names)
    for name in figures_before.keys() & figures_after.keys():
        differ = differences(figures_before[name], figures_after[name])
        run.results[name] = {"figures": len(figures_after[name]), "differ": differ, "same": not differ}
        run.row(f"bench.{name} --quick", f"{before[:8]} -> {after[:8]}",
                "the same figures" if not differ else f"{len(differ)} of {len(figures_after[name])} figures differ")
        log(f"bench.{name}: " + ("the same figures" if not differ else f"differs: {differ}"))
    run.results["same"] = all(result["same"] for result in run.results.values())
    run.finish()
    log(f"{'the same figures in every benchmark' if run.results['same'] else 'FIGURES DIFFER'} "
        f"({fmt_s(run.record['wall_s'])})")


if __name__ == "__main__":
    main()
