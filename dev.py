#!/usr/bin/env python3
"""One entry point for the two things a newcomer does.

    python3 dev.py lab     set everything up, open the course notebooks in JupyterLab
    python3 dev.py test    set everything up, run the whole test suite (what CI runs)

Extra arguments go to JupyterLab or to pytest: `python3 dev.py test -k autograd -x`.

"Set everything up" makes a virtual environment in .venv/ with the exact tested package
set (requirements-dev.txt) and optilab installed in editable mode.  It is skipped when
nothing it depends on has changed since the last time, so later runs start at once.
Standard library only: this runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".optilab-installed"
INPUTS = [ROOT / "requirements-dev.txt", ROOT / "pyproject.toml"]
NOTEBOOKS = ROOT / "notebooks"


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def run(*cmd: str | Path) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=ROOT)


# --- setting up: each step checks whether it is needed and does nothing when it is not ---


def python_version() -> None:
    if sys.version_info < (3, 10):  # noqa: UP036 - dev.py may be run by an older python3
        sys.exit(f"[dev] optilab needs Python >= 3.10; this is {sys.version.split()[0]}. "
                 f"Run dev.py with a newer python3 (e.g. python3.11 dev.py test).")


def virtual_environment() -> None:
    if PYTHON.exists():
        return
    say("creating the virtual environment .venv/")
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)  # clear: a broken .venv is rebuilt


def fingerprint() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for path in INPUTS:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def python_packages() -> None:
    wanted = fingerprint()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say("installing the tested package set (requirements-dev.txt), about a minute the first time")
    # -qq: errors only (this machine's pip configuration warns about absent local indexes)
    pip = [PYTHON, "-m", "pip", "install", "-qq", "--no-input"]
    for args in (["--upgrade", "pip"],
                 ["-r", ROOT / "requirements-dev.txt"],
                 ["--no-deps", "-e", ROOT]):
        if run(*pip, *args) != 0:
            sys.exit("[dev] pip failed: " + " ".join(str(a) for a in [*pip, *args]) + "\n"
                     "[dev] pip's message above names the package.  Check that the package "
                     "index is reachable, then run the same dev.py command again; if it still "
                     "fails, delete .venv/ and retry.")
    STAMP.write_text(wanted)  # written last: an interrupted install is redone next time


CHROMIUM = Path("/usr/bin/chromium")


def chromium() -> None:
    """Debian's Chromium for the browser test (Playwright drives it; it never downloads one)."""
    if CHROMIUM.exists():
        return
    can_apt = sys.platform.startswith("linux") and os.geteuid() == 0 and Path(
        "/usr/bin/apt-get").exists()
    if not can_apt:
        say("no /usr/bin/chromium: the browser test will be skipped (under CI it fails). "
            "Install it with: sudo apt-get install chromium")
        return
    say("installing Debian's chromium for the browser test (apt-get, a minute or two)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        if subprocess.call(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL) != 0:
            sys.exit(f"[dev] {' '.join(cmd)} failed; install chromium by hand and retry")


SETUP_STEPS = [python_version, virtual_environment, python_packages]
TEST_STEPS = [chromium]                  # only the test command needs a browser


def ensure_environment() -> None:
    for step in SETUP_STEPS:
        step()
    say(f"environment ready ({PYTHON.relative_to(ROOT)})")


# --- the commands ---


def lab(args: list[str]) -> int:
    ensure_environment()
    NOTEBOOKS.mkdir(exist_ok=True)
    say("starting JupyterLab on notebooks/ (Ctrl-C to stop)")
    extra = []
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        extra.append("--allow-root")
    if in_ci():
        extra.append("--no-browser")
    return run(PYTHON, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.root_dir={NOTEBOOKS}", *extra, *args)


def test(args: list[str]) -> int:
    ensure_environment()
    for step in TEST_STEPS:
        step()
    say("ruff check .")
    lint = run(PYTHON, "-m", "ruff", "check", ".")
    say("pytest")
    ci_args = ["-p", "no:cacheprovider"] if in_ci() else []
    status = run(PYTHON, "-m", "pytest", *ci_args, *args)
    if status == 5:
        say("no tests were collected: that is a failure, not a pass")
        return 1
    if lint != 0:
        say("ruff found problems (listed above): the run fails until they are fixed")
        return status or lint
    return status


COMMANDS = {"lab": lab, "test": test}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        if argv[:1] in (["-h"], ["--help"]):
            return 0
        if argv:
            print(f"unknown command {argv[0]!r}: use lab or test")
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
