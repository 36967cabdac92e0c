#!/usr/bin/env python3
"""One entry point for the two things a newcomer does.

    python3 dev.py lab     set everything up, open the course notebooks in JupyterLab
    python3 dev.py test    set everything up, run the whole test suite (what CI runs)

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


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def run(*cmd: str | Path) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=ROOT)


def fingerprint() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for path in INPUTS:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_environment() -> None:
    """Create .venv and install the tested set, unless it is already up to date."""
    if sys.version_info < (3, 10):  # noqa: UP036 - dev.py may be run by an older python3
        sys.exit(f"optilab needs Python >= 3.10; this is {sys.version.split()[0]}. "
                 f"Run dev.py with a newer python3.")
    wanted = fingerprint()
    if STAMP.exists() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        say(f"creating the virtual environment {VENV.relative_to(ROOT)}/")
        venv.EnvBuilder(with_pip=True).create(VENV)
    say("installing the tested package set (requirements-dev.txt) ...")
    steps = [
        [PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [PYTHON, "-m", "pip", "install", "--quiet", "-r", ROOT / "requirements-dev.txt"],
        [PYTHON, "-m", "pip", "install", "--quiet", "--no-deps", "-e", ROOT],
    ]
    for step in steps:
        if run(*step) != 0:
            sys.exit("[dev] pip failed (see above). Check the network to the package index, "
                     "or delete .venv/ and try again.")
    STAMP.write_text(wanted)
    say("environment ready")


def lab(args: list[str]) -> int:
    ensure_environment()
    say("starting JupyterLab on notebooks/ (Ctrl-C to stop)")
    as_root = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    return run(PYTHON, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", *as_root,
               f"--ServerApp.root_dir={ROOT / 'notebooks'}", *args)


def test(args: list[str]) -> int:
    ensure_environment()
    say("ruff check")
    lint = run(PYTHON, "-m", "ruff", "check", ".")
    say("pytest")
    env_args = ["-p", "no:cacheprovider"] if os.environ.get("CI") else []
    status = run(PYTHON, "-m", "pytest", *env_args, *args)
    if status == 5:
        say("no tests were collected: that is a failure, not a pass")
        return 1
    if lint != 0:
        say("ruff found problems (listed above)")
        return lint
    return status


COMMANDS = {"lab": lab, "test": test}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
