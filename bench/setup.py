"""README's set-up as a newcomer's machine pays for it: `./run setup` into a fresh venv with an empty pip cache (issue
22: README states the install's time and size), then the same command again on the machine it set up.

    python -m bench.setup                    # the Python ./run picks (3.11 first)
    python -m bench.setup --python python3.13
    python -m bench.setup --quick            # pip's usual cache kept: a smoke check of the path, not a fresh machine

Measured: the first run's wall time and CPU (everything `./run setup` starts: venv, pip, byte-compiling), the venv's
size on disk (`du -sk`), and the second run's wall time (the stamp found, nothing installed). Recorded beside them:
pip's configuration (`pip config list`), since an index mirror or find-links on local disk make the install faster
than a newcomer's download from PyPI, and pip's cache size afterwards (what pip chose to keep, not all it
downloaded). The venv and the cache live in a scratch folder outside the repository, removed at the end
(`--keep` keeps them and prints where). Downloads depend on the connection to PyPI, so the time does too.
"""
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import REPO, Run, log, parser


def du_mb(path):
    """Disk use of a folder in MB, as `du -sk` counts it (blocks, hard links once)."""
    return round(int(subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True,
                                    check=True).stdout.split()[0]) / 1024, 1)


def pip_config(venv, env):
    """`pip config list` as the venv's pip sees it (global, user and environment settings)."""
    return subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "config", "list"], capture_output=True, text=True,
                          env=env).stdout.strip().splitlines()


def timed(env):
    """`./run setup` in REPO: (wall seconds, CPU seconds of everything it started, its output's end)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(["./run", "setup"], cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"./run setup failed (exit code {done.returncode}):\n{done.stdout[-3000:]}\n"
                         f"{done.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return round(seconds, 1), round(cpu, 1), done.stderr[-1000:]


def main(argv=None):
    p = parser(__doc__)
    p.add_argument("--python", help="PYTHON for ./run (default: the first supported one it finds)")
    p.add_argument("--keep", action="store_true", help="keep the scratch venv and pip cache, and print where")
    args = p.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-setup-"))
    venv, cache = scratch / "venv", scratch / "pip-cache"
    env = {**os.environ, "VENV": str(venv)}
    env.pop("VIRTUAL_ENV", None)
    if args.python:
        env["PYTHON"] = args.python
    if not args.quick:
        env["PIP_CACHE_DIR"] = str(cache)  # empty: every file is downloaded, as on a new machine
    run = Run("setup", args.quick, {"command": "./run setup", "python": args.python or "./run's choice",
                                    "pip_cache": "pip's usual cache" if args.quick else "empty (fresh machine)",
                                    "venv": "fresh, outside the repository"})
    try:
        log(f"./run setup into {venv} (a few minutes)")
        install_s, install_cpu_s, said = timed(env)
        venv_mb = du_mb(venv)
        python = subprocess.run([str(venv / "bin" / "python"), "-c",
                                 "import platform; print(platform.python_version())"],
                                capture_output=True, text=True, check=True).stdout.strip()
        log(f"installed in {install_s} s ({install_cpu_s} s CPU); venv {venv_mb} MB; Python {python}")
        rerun_s, _, rerun_said = timed(env)
        log(f"again on the set-up machine: {rerun_s} s")
        if "set up already" not in rerun_said:
            raise SystemExit(f"the second ./run setup installed again instead of finding its stamp:\n{rerun_said}")
        run.results.update({"install_s": install_s, "install_cpu_s": install_cpu_s, "venv_mb": venv_mb,
                            "pip_cache_after_mb": du_mb(cache) if cache.exists() else None,
                            "pip_config": pip_config(venv, env), "rerun_s": rerun_s,
                            "venv_python": python, "output_end": said})
        run.row("./run setup", f"fresh venv (Python {python}), "
                               f"{'usual' if args.quick else 'empty'} pip cache",
                "", f"{install_s / 60:.1f} min ({install_cpu_s / 60:.1f} min CPU); again: {rerun_s:.1f} s",
                f"venv {venv_mb / 1024:.2f} GB on disk")
        run.finish()
    finally:
        if args.keep:
            log(f"kept {scratch} (venv {venv}); remove it with: rm -r {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
