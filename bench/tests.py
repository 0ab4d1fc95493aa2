"""How long the tests take: the fast tier as README runs it, and CI (`.ci/run`) from a clean clone (issue 21's bounds:
at most 8 minutes for the fast tier, 25 for CI, on an idle 2-core machine).

    python -m bench.tests             # the fast tier twice, then .ci/run once from a fresh clone of HEAD
    python -m bench.tests --runs 3    # the fast tier three times
    python -m bench.tests --quick     # one small test file once, no clone: a smoke check of the path

Start it on an idle machine and run nothing beside it: the tests use both cores (pytest-xdist), so anything else
running shows up in these times. The load average at the start and end is in the results file, as for every benchmark.

The clone is of the committed HEAD (what CI checks out), with ../shared beside it as on CI, and its venv is its own
(VENV, in the same scratch folder): `./run` installs the locked requirements into it, as on a clean CI machine, from
this machine's package cache, and the folder goes when the run ends. Its time includes that install.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import DATA, REPO, Run, fmt_s, log, parser

QUICK_FILE = "tests/test_markup.py"
# pytest's last line: "=== 502 passed, 3 skipped in 160.12s (0:02:40) ===", and ./run's banner before each tier.
SUMMARY = re.compile(r"^=+ (\d+ \w+.*?) in ([\d.]+)s", re.M)
TIER = re.compile(r"^=== (\w+) tier: ", re.M)


def pytest_summary(output: str) -> list[dict]:
    """Each pytest run's counts and pytest's own seconds, in the order they ran (one per tier under ./run)."""
    found = []
    for counts, seconds in SUMMARY.findall(output):
        found.append({"counts": {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", counts)},
                      "pytest_s": float(seconds)})
    return found


def timed(command: list[str], cwd: Path, env: dict | None = None) -> tuple[float, str]:
    """(seconds from start to exit, stdout and stderr) of `command`; SystemExit with its output's end if it fails."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed (exit code {done.returncode}):\n{output[-4000:]}")
    return seconds, output


def fast_tier(runs: int, extra: list[str]) -> list[dict]:
    each = []
    for number in range(runs):
        seconds, output = timed([sys.executable, "-m", "pytest", *extra], REPO)
        [summary] = pytest_summary(output)
        each.append({"seconds": round(seconds, 1), **summary})
        log(f"fast tier run {number + 1}/{runs}: {summary['counts']} in {fmt_s(seconds)}")
    return each


def ci_from_clean_clone() -> dict:
    """`.ci/run` in a fresh clone of HEAD with ../shared beside it, as CI runs it."""
    if not DATA.parent.is_dir():
        raise SystemExit(f"{DATA.parent} not found: CI runs with ../shared beside the clone.")
    with tempfile.TemporaryDirectory(prefix="bench-tests-") as scratch:
        clone = Path(scratch) / "main"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        (Path(scratch) / "shared").symlink_to(DATA.parent)
        seconds, output = timed(["bash", ".ci/run"], clone,
                                env={**os.environ, "CI": "true", "VENV": str(Path(scratch) / "venv")})
    tiers = dict(zip(TIER.findall(output), pytest_summary(output)))
    log(f".ci/run from a clean clone: {fmt_s(seconds)}; " + ", ".join(
        f"{name} {tier['counts']} in {fmt_s(tier['pytest_s'])}" for name, tier in tiers.items()))
    return {"seconds": round(seconds, 1), "tiers": tiers}


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--runs", type=int, help="fast-tier runs (default: 2; quick: 1)")
    args = p.parse_args(argv)
    runs = args.runs or (1 if args.quick else 2)
    extra = [QUICK_FILE] if args.quick else []
    run = Run("tests", args.quick, {"fast_tier": " ".join(["python -m pytest", *extra]), "runs": runs,
                                    "ci": None if args.quick else "CI=true bash .ci/run (fresh clone of HEAD)"})
    each = fast_tier(runs, extra)
    seconds = [r["seconds"] for r in each]
    run.results["fast"] = {"runs": each, "seconds": {"median": round(float(np.median(seconds)), 1),
                                                     "min": min(seconds), "max": max(seconds)},
                           "passed": each[-1]["counts"].get("passed")}
    run.row(" ".join(["python -m pytest", *extra]), f"{each[-1]['counts']}, {runs} run(s)", "",
            f"{fmt_s(np.median(seconds))} median ({fmt_s(min(seconds))}-{fmt_s(max(seconds))}) start to exit")
    if not args.quick:
        ci = run.results["ci"] = ci_from_clean_clone()
        tiers = ", ".join(f"{name}: {tier['counts']}" for name, tier in ci["tiers"].items())
        run.row("CI=true bash .ci/run (fresh clone)", tiers, "",
                f"{fmt_s(ci['seconds'])} start to exit, the venv installed")
    run.finish()


if __name__ == "__main__":
    main()
