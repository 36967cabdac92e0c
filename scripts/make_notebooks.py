#!/usr/bin/env python3
"""Generate the student and solution notebooks from one source per notebook.

    python scripts/make_notebooks.py            write notebooks/NN_name.ipynb (student) and
                                                notebooks/solutions/NN_name.ipynb (solution)
    python scripts/make_notebooks.py --check    exit 1 if any generated notebook is stale

Sources live in ``notebooks/src/``, one per notebook, named ``NN_name.py`` (or ``.ipynb``).

The ``.py`` format is "percent" format (as VS Code, PyCharm, Spyder and jupytext read it),
so sources diff and review like code, and a source runs as a plain script (the solution).
Comment lines before the first cell are for tools (``# ruff: noqa: B018`` lets a cell end
with a bare ``q1`` to display the exercise) and are not copied:

    # %% [markdown]
    # ## 1. One step
    # Markdown lines start with "# ".

    # %%
    # %matplotlib inline          <- IPython magics are written commented (jupytext's way)
    def gd_step(f, x, lr):
        # BEGIN SOLUTION
        # STUB: raise NotImplementedError("Exercise 2.1: return x - lr * grad f(x)")
        return x - lr * ag.grad(f)(x)
        # END SOLUTION

    # %% solution                 <- a cell only in the solution notebook ("student": only
                                     in the student one); also "# %% [markdown] solution"

Between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` the solution notebook keeps the code and
the student notebook gets the ``# STUB:`` lines instead: what follows "# STUB: " is kept as
it is (further indentation too), at the indentation of the ``#``.  Every solution block
needs a stub that runs and says what to do (a function body
``raise NotImplementedError("Exercise 2.1: ...")``, a value ``lr_max = ...``), so the
student notebook runs top to bottom.  An ``.ipynb`` source uses the same markers in its
code cells, and the cell tags ``solution`` / ``student``.

Generated notebooks have no outputs, a first cell saying where they come from, stable cell
ids and deterministic bytes, so ``--check`` (and tests/test_make_notebooks.py) can compare
them with a fresh build.

Every notebook also gets, after that header, the Colab setup cell (:func:`setup_cell`): on
Colab only, it installs optilab from the repository and puts ``distances.npy`` next to the
notebook; elsewhere it does nothing.  The repository's address is read from
``pyproject.toml`` (``[project.urls] Repository``), the one place it is written; the
README's table of notebooks with their Colab and Binder badges (between
``<!-- notebooks -->`` and ``<!-- /notebooks -->``) is generated from it too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "notebooks" / "src"
OUT = ROOT / "notebooks"
COMMAND = "python scripts/make_notebooks.py"
BEGIN, END, STUB = "# BEGIN SOLUTION", "# END SOLUTION", "# STUB:"
VERSIONS = ("student", "solution")
HEADER_MARK = "Generated from `"

_CELL = re.compile(r"^# %%(?P<rest>.*)$")
_MAGIC = re.compile(r"^(\s*)# ?(%%?\w.*|!.*)$")     # "# %matplotlib inline", "# !pip ..."


class SourceError(ValueError):
    """A source notebook breaks a rule; the message names the file, cell and line."""


def repository(root: Path = ROOT) -> str:
    """The repository's address, from pyproject.toml's ``[project.urls] Repository``."""
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'^Repository\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if not match:
        raise SourceError('pyproject.toml needs [project.urls] Repository = "https://..."')
    return match[1].rstrip("/")


def setup_cell(repo: str) -> str:
    """The first code cell of every notebook: plain Python, a no-op outside Colab.

    pip installs optilab with lower-bound requirements, so nothing Colab ships is
    downgraded (or upgraded); after a runtime restart the package is still there.
    """
    raw = repo.replace("https://github.com/", "https://raw.githubusercontent.com/")
    return f'''# Setup for Google Colab (elsewhere this cell does nothing): install optilab once per
# runtime, and put the city-distance data next to the notebook.
import sys

if "google.colab" in sys.modules:
    import importlib.util
    import shutil
    import subprocess
    from pathlib import Path

    if importlib.util.find_spec("optilab") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                        "-r", "{raw}/main/requirements_colab.txt",
                        "optilab @ git+{repo}.git"], check=True)
    import optilab

    if not Path("distances.npy").exists():
        shutil.copy(Path(optilab.__file__).parent / "data" / "distances.npy", "distances.npy")'''


COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"
README_BLOCK = re.compile(r"(<!-- notebooks -->\n).*?(<!-- /notebooks -->)", re.DOTALL)


def readme_table(stems: list[str], repo: str) -> str:
    """Markdown rows: each notebook with its Colab and Binder badges."""
    slug = repo.removeprefix("https://github.com/")
    rows = ["| notebook | Colab | Binder |", "|---|---|---|"]
    for stem in stems:
        path = f"notebooks/{stem}.ipynb"
        colab = f"https://colab.research.google.com/github/{slug}/blob/main/{path}"
        binder = f"https://mybinder.org/v2/gh/{slug}/main?labpath={path}"
        rows.append(f"| [`{stem}`]({path}) | [![Open in Colab]({COLAB_BADGE})]({colab}) "
                    f"| [![Binder]({BINDER_BADGE})]({binder}) |")
    return "\n".join(rows) + "\n"


def readme(root: Path, stems: list[str]) -> tuple[Path, bytes]:
    """README.md with its notebook table regenerated."""
    path = root / "README.md"
    text = path.read_text(encoding="utf-8")
    if not README_BLOCK.search(text):
        raise SourceError("README.md needs a '<!-- notebooks -->' ... '<!-- /notebooks -->' "
                          "block for the notebook table")
    table = readme_table(stems, repository(root))
    return path, README_BLOCK.sub(lambda m: m[1] + table + m[2], text).encode("utf-8")


@dataclass
class Cell:
    kind: str                     # "code" or "markdown"
    source: str
    only: str | None = None       # "student", "solution" or None (both)
    line: int = 0                 # where it starts in the source (for messages)
    tags: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- reading

def read_py(path: Path) -> list[Cell]:
    """Cells of a percent-format source."""
    cells: list[Cell] = []
    current: Cell | None = None
    lines: list[str] = []

    def close() -> None:
        if current is not None:
            while lines and not lines[-1].strip():
                lines.pop()
            while lines and not lines[0].strip():
                lines.pop(0)
            current.source = "\n".join(lines)
            cells.append(current)

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = _CELL.match(line)
        if match:
            close()
            words = match["rest"].replace("[markdown]", " markdown ").split()
            kind = "markdown" if "markdown" in words else "code"
            only = next((w for w in words if w in VERSIONS), None)
            unknown = [w for w in words if w not in ("markdown", *VERSIONS)]
            if unknown:
                raise SourceError(f"{_rel(path)}:{number}: unknown cell option(s) {unknown}; "
                                  f"a cell line is '# %%', '# %% [markdown]', optionally "
                                  f"followed by 'solution' or 'student'")
            current, lines = Cell(kind, "", only, number), []
            continue
        if current is None:            # the preamble: comments for tools (ruff, jupytext)
            if line.strip() and not line.startswith("#"):
                raise SourceError(f"{_rel(path)}:{number}: code before the first '# %%' "
                                  f"cell line; start the file with '# %%'")
            continue
        if current.kind == "markdown":
            if line.strip() and not (line.startswith("# ") or line == "#"):
                raise SourceError(f"{_rel(path)}:{number}: markdown lines start with '# ', "
                                  f"got {line!r}")
            lines.append(line[2:] if line.startswith("# ") else "")
        else:
            magic = _MAGIC.match(line)
            lines.append(magic[1] + magic[2] if magic else line)
    close()
    return cells


def read_ipynb(path: Path) -> list[Cell]:
    """Cells of an ``.ipynb`` source (outputs ignored; tags 'solution'/'student')."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = []
    for i, c in enumerate(nb.get("cells", [])):
        source = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        tags = list(c.get("metadata", {}).get("tags", []))
        only = next((t for t in tags if t in VERSIONS), None)
        if c["cell_type"] in ("code", "markdown"):
            cells.append(Cell(c["cell_type"], source.strip("\n"), only, i + 1,
                              [t for t in tags if t not in VERSIONS]))
    return cells


def read_source(path: Path) -> list[Cell]:
    if path.suffix == ".py":
        return read_py(path)
    if path.suffix == ".ipynb":
        return read_ipynb(path)
    raise SourceError(f"{_rel(path)}: sources are .py (percent format) or .ipynb")


# ----------------------------------------------------------------------------- splitting

def split_code(source: str, where: str) -> dict[str, str]:
    """The student and solution versions of one code cell's source."""
    out: dict[str, list[str]] = {"student": [], "solution": []}
    inside, stubbed, begin_line = False, False, 0
    for number, line in enumerate(source.split("\n"), 1):
        text = line.strip()
        if text == BEGIN:
            if inside:
                raise SourceError(f"{where}, line {number}: {BEGIN} inside another solution "
                                  f"block (opened on line {begin_line}); close it first")
            inside, stubbed, begin_line = True, False, number
        elif text == END:
            if not inside:
                raise SourceError(f"{where}, line {number}: {END} without {BEGIN}")
            if not stubbed:
                raise SourceError(
                    f"{where}, line {begin_line}: this solution block has no '{STUB} ...' "
                    f"line. Add the code the student sees instead, e.g. "
                    f"'{STUB} raise NotImplementedError(\"Exercise 2.1: what to write\")' "
                    f"in a function, or '{STUB} lr_max = ...' for a value")
            inside = False
        elif text.startswith(STUB):
            if not inside:
                raise SourceError(f"{where}, line {number}: a {STUB} line outside "
                                  f"{BEGIN} ... {END}")
            indent = line[: len(line) - len(line.lstrip())]
            rest = text[len(STUB):]
            rest = rest[1:] if rest.startswith(" ") else rest   # one space, then code as is
            out["student"].append((indent + rest).rstrip())
            stubbed = True
        elif inside:
            out["solution"].append(line)
        else:
            out["student"].append(line)
            out["solution"].append(line)
    if inside:
        raise SourceError(f"{where}, line {begin_line}: {BEGIN} is never closed by {END}")
    return {v: "\n".join(lines).strip("\n") for v, lines in out.items()}


def strip_magics(source: str) -> str:
    """Python source with IPython magics and shell escapes blanked (for compile())."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.split("\n"))


def build(path: Path, root: Path = ROOT) -> dict[str, bytes]:
    """``{relative path: notebook bytes}`` of the student and solution versions of a source."""
    rel_source = _rel(path, root)
    cells = read_source(path)
    results = {}
    for version in VERSIONS:
        nb_cells = [_header(rel_source, version),
                    _cell("code", setup_cell(repository()), f"{path.stem}-setup", [])]
        for i, cell in enumerate(cells):
            if cell.only not in (None, version):
                continue
            where = f"{rel_source}, cell {i + 1} (source line {cell.line})"
            if cell.kind == "code":
                text = split_code(cell.source, where)[version]
                try:
                    compile(strip_magics(text), where, "exec")
                except SyntaxError as e:
                    raise SourceError(f"{where}: the {version} version does not compile "
                                      f"(line {e.lineno}: {e.msg}). Check the stub lines."
                                      ) from None
            else:
                text = cell.source
                if BEGIN in text or STUB in text:
                    raise SourceError(f"{where}: solution markers belong in code cells; mark "
                                      f"a markdown cell '# %% [markdown] solution' instead")
            nb_cells.append(_cell(cell.kind, text, f"{path.stem}-{version[:3]}-{i + 1}",
                                  cell.tags))
        target = (f"notebooks/{path.stem}.ipynb" if version == "student"
                  else f"notebooks/solutions/{path.stem}.ipynb")
        results[target] = _dumps(nb_cells)
    return results


def _header(rel_source: str, version: str) -> dict:
    what = ("Student version: solve the exercises, then run their `qN.check(...)` cells"
            if version == "student" else "Solution version")
    text = (f"*{what}.* Generated from `{rel_source}`; regenerate with `{COMMAND}` "
            f"(edit the source, not this file).")
    return _cell("markdown", text, "header", [])


def _cell(kind: str, text: str, name: str, tags: list[str]) -> dict:
    cell_id = hashlib.sha1(name.encode()).hexdigest()[:12]
    metadata = {"tags": tags} if tags else {}
    cell = {"cell_type": kind, "id": cell_id, "metadata": metadata,
            "source": text.splitlines(keepends=True)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _dumps(cells: list[dict]) -> bytes:
    nb = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                      "name": "python3"},
                       "language_info": {"name": "python"}}}
    return (json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _rel(path: Path, root: Path = ROOT) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


# ----------------------------------------------------------------------------- the command

def sources(src: Path = SOURCES) -> list[Path]:
    """The source notebooks, in order (``NN_name.py`` / ``NN_name.ipynb``)."""
    found = sorted(p for p in src.glob("*") if p.suffix in (".py", ".ipynb")
                   and not p.name.startswith(("_", ".")))
    stems = [p.stem for p in found]
    twins = sorted({s for s in stems if stems.count(s) > 1})
    if twins:
        raise SourceError(f"two sources for {twins}: keep either the .py or the .ipynb")
    return found


def build_all(src: Path = SOURCES, root: Path = ROOT) -> dict[str, bytes]:
    """Every generated notebook, ``{path relative to the repo: bytes}``."""
    out: dict[str, bytes] = {}
    for path in sources(src):
        out.update(build(path, root))
    return out


def orphans(out_root: Path, wanted: dict[str, bytes]) -> list[str]:
    """Generated notebooks (they carry the header) whose source is gone."""
    found = []
    for folder in (out_root / "notebooks", out_root / "notebooks" / "solutions"):
        for nb in sorted(folder.glob("*.ipynb")):
            rel = nb.relative_to(out_root).as_posix()
            if rel not in wanted and HEADER_MARK in nb.read_text(encoding="utf-8")[:2000]:
                found.append(rel)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a generated notebook is stale")
    parser.add_argument("--src", type=Path, default=SOURCES, help="the sources' folder")
    parser.add_argument("--out", type=Path, default=ROOT,
                        help="write notebooks/ and notebooks/solutions/ under this folder")
    args = parser.parse_args(argv)
    try:
        wanted = build_all(args.src)
    except SourceError as e:
        print(f"make_notebooks: {e}", file=sys.stderr)
        return 2
    stale = [rel for rel, data in wanted.items()
             if not (args.out / rel).exists() or (args.out / rel).read_bytes() != data]
    if args.src == SOURCES and args.out == ROOT:   # the repo's own README lists its notebooks
        try:
            path, text = readme(ROOT, [p.stem for p in sources(args.src)])
        except SourceError as e:
            print(f"make_notebooks: {e}", file=sys.stderr)
            return 2
        if path.read_bytes() != text:
            stale.append("README.md")
            wanted["README.md"] = text
    extra = orphans(args.out, wanted)
    if args.check:
        for rel in stale:
            print(f"stale: {rel} (regenerate with {COMMAND})")
        for rel in extra:
            print(f"orphan: {rel} has no source in notebooks/src/ any more: delete it")
        if not stale and not extra:
            print(f"{len(wanted)} generated notebooks are up to date")
        return 1 if stale or extra else 0
    for rel in stale:
        target = args.out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(wanted[rel])
        print(f"wrote {rel}")
    for rel in extra:
        print(f"warning: {rel} has no source in notebooks/src/ any more (delete it?)")
    if not stale:
        print(f"{len(wanted)} generated notebooks already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
