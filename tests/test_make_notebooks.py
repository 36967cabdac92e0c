"""The notebook generator: sources -> student and solution notebooks, never stale, and
notebook 2 runs top to bottom in a real kernel in both versions."""

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("make_notebooks",
                                              ROOT / "scripts" / "make_notebooks.py")
make = importlib.util.module_from_spec(spec)
sys.modules["make_notebooks"] = make          # dataclasses look their module up
spec.loader.exec_module(make)

SOURCES = make.sources()
GENERATED = make.build_all()
WITHOUT_EXERCISES = {"00_tour", "autograd_quickstart"}   # tours: what is in the course


def cells(data, kind=None):
    nb = json.loads(data)
    return [("".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for c in nb["cells"] if kind is None or c["cell_type"] == kind]


def test_there_is_a_source_for_notebook_2():
    assert ROOT / "notebooks" / "src" / "02_gradient_descent.py" in SOURCES
    assert {"notebooks/02_gradient_descent.ipynb",
            "notebooks/solutions/02_gradient_descent.ipynb"} <= set(GENERATED)


def test_generated_notebooks_are_up_to_date(tmp_path):
    assert make.main(["--out", str(tmp_path)]) == 0
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.ipynb"))
    assert written == sorted(GENERATED)
    for rel in written:
        committed = ROOT / rel
        assert committed.exists(), f"{rel} is missing: run python scripts/make_notebooks.py"
        assert committed.read_bytes() == (tmp_path / rel).read_bytes(), \
            f"{rel} is stale: run python scripts/make_notebooks.py"
    assert make.main(["--check"]) == 0


def test_check_flags_stale_and_orphaned_notebooks(tmp_path, capsys):
    make.main(["--out", str(tmp_path)])
    assert make.main(["--check", "--out", str(tmp_path)]) == 0
    student = tmp_path / "notebooks" / "02_gradient_descent.ipynb"
    student.write_bytes(student.read_bytes().replace(b"gradient", b"gradients", 1))
    orphan = tmp_path / "notebooks" / "99_gone.ipynb"
    orphan.write_bytes(GENERATED["notebooks/02_gradient_descent.ipynb"])
    assert make.main(["--check", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "stale: notebooks/02_gradient_descent.ipynb" in out and "orphan" in out
    make.main(["--out", str(tmp_path)])
    assert student.read_bytes() == GENERATED["notebooks/02_gradient_descent.ipynb"]


def test_builds_are_deterministic_and_clean():
    assert make.build_all() == GENERATED
    for rel, data in GENERATED.items():
        nb = json.loads(data)
        assert nb["nbformat"] == 4 and len({c["id"] for c in nb["cells"]}) == len(nb["cells"])
        first = nb["cells"][0]
        assert first["cell_type"] == "markdown"
        header = "".join(first["source"])
        assert "Generated from `notebooks/src/" in header
        assert "python scripts/make_notebooks.py" in header
        for c in nb["cells"]:
            if c["cell_type"] == "code":
                assert c["outputs"] == [] and c["execution_count"] is None
        text = data.decode()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "# STUB:"):
            assert marker not in text, f"{rel} still has the marker {marker!r}"


def solution_lines(source_path):
    """Lines inside solution blocks that appear nowhere outside them."""
    inside, sol, rest = False, set(), set()
    for line in source_path.read_text().splitlines():
        text = line.strip()
        if text in (make.BEGIN, make.END):
            inside = text == make.BEGIN
        elif inside and not text.startswith(make.STUB) and text:
            sol.add(text)
        elif text:
            rest.add(text)
    return sol - rest


@pytest.mark.parametrize("source", SOURCES, ids=[p.stem for p in SOURCES])
def test_student_version_has_no_solution_and_compiles(source):
    student = GENERATED[f"notebooks/{source.stem}.ipynb"]
    solution = GENERATED[f"notebooks/solutions/{source.stem}.ipynb"]
    hidden = solution_lines(source)
    if source.stem in WITHOUT_EXERCISES:          # nothing to hide: both versions are the same
        assert not hidden and cells(student, "code") == cells(solution, "code")
        assert not any(".check(" in code for code in cells(solution, "code"))
        return
    assert hidden, "the source has no solution blocks"
    student_code = "\n".join(cells(student, "code"))
    student_lines = {line.strip() for line in student_code.splitlines()}
    leaked = sorted(hidden & student_lines)
    assert not leaked, f"solution code in the student notebook: {leaked}"
    assert all(line in "\n".join(cells(solution, "code")) for line in hidden)
    for version in (student, solution):
        for i, code in enumerate(cells(version, "code")):
            compile(make.strip_magics(code), f"{source.stem} cell {i}", "exec")
    assert "NotImplementedError(" in student_code or "= ..." in student_code


def write(tmp_path, text, name="01_demo.py"):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    path = src / name
    path.write_text(text)
    return path


def test_markers_stubs_and_cell_options(tmp_path):
    path = write(tmp_path, '''# ruff: noqa: B018
# %% [markdown]
# # Demo
#
# Text.

# %%
# %matplotlib inline
def f(x):
    y = 1
    # BEGIN SOLUTION
    # STUB: raise NotImplementedError(
    # STUB:     "Exercise 1.1: return 2x")
    return 2 * x
    # END SOLUTION

# %% [markdown] solution
# The answer is 2x.

# %% student
print("student only")
''')
    built = make.build(path, tmp_path)
    student = cells(built["notebooks/01_demo.ipynb"])[1:]       # after the header: the
    solution = cells(built["notebooks/solutions/01_demo.ipynb"])[1:]   # Colab setup cell
    assert student[0].startswith("# Setup for Google Colab")
    assert student[1] == "# Demo\n\nText."
    assert student[2] == ('%matplotlib inline\ndef f(x):\n    y = 1\n'
                          '    raise NotImplementedError(\n        "Exercise 1.1: return 2x")')
    assert solution[2] == '%matplotlib inline\ndef f(x):\n    y = 1\n    return 2 * x'
    assert student[3] == 'print("student only")' and "The answer is 2x." not in student
    assert solution[3] == "The answer is 2x." and len(solution) == 4
    assert "ruff" not in "".join(student)


@pytest.mark.parametrize("body,error", [
    ("# %%\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", "no '# STUB:"),
    ("# %%\n# BEGIN SOLUTION\n# STUB: x = ...\nx = 1\n", "never closed"),
    ("# %%\n# STUB: x = ...\n", "outside"),
    ("# %%\n# END SOLUTION\n", "without"),
    ("# %%\n# BEGIN SOLUTION\n# BEGIN SOLUTION\n", "inside another"),
    ("# %%\ndef f():\n    # BEGIN SOLUTION\n    # STUB: pass(\n    return 1\n"
     "    # END SOLUTION\n", "does not compile"),
    ("x = 1\n# %%\n", "before the first"),
    ("# %% [markdown]\nnot a comment\n", "markdown lines start"),
    ("# %% bogus\n", "unknown cell option"),
])
def test_source_errors_teach(tmp_path, body, error):
    path = write(tmp_path, body)
    with pytest.raises(make.SourceError, match=re.escape(error)):
        make.build(path, tmp_path)


def test_ipynb_sources_work_too(tmp_path):
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Title"]},
        {"cell_type": "code", "metadata": {}, "outputs": [{"output_type": "stream"}],
         "execution_count": 3,
         "source": ["lr = 0.1\n", "# BEGIN SOLUTION\n", "# STUB: lr_max = ...\n",
                    "lr_max = 0.2\n", "# END SOLUTION\n"]},
        {"cell_type": "markdown", "metadata": {"tags": ["solution"]}, "source": "Because."}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = write(tmp_path, json.dumps(nb), "03_x.ipynb")
    built = make.build(path, tmp_path)
    assert cells(built["notebooks/03_x.ipynb"])[2:] == ["# Title", "lr = 0.1\nlr_max = ..."]
    assert cells(built["notebooks/solutions/03_x.ipynb"])[2:] == [
        "# Title", "lr = 0.1\nlr_max = 0.2", "Because."]


def test_the_source_runs_as_a_plain_script(capsys):
    """A percent-format source is the solution notebook as a script (magics commented)."""
    source = ROOT / "notebooks" / "src" / "02_gradient_descent.py"
    namespace = {"__name__": "__main__"}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    assert all(namespace[f"q{i}"].check(*[namespace[n] for n in namespace[f"q{i}"].answers])
               for i in range(1, 7))
    assert "accuracy" in capsys.readouterr().out


# ----------------------------------------------------------------------------- in a kernel

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
from nbrun import executed  # noqa: E402


def outputs_text(nb):
    texts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert o["output_type"] != "error", f"{o.get('ename')}: {o.get('evalue')}"
            texts.append(o.get("text", "") + o.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


def check_results(text):
    return re.findall(r"Exercise 2\.\d \(.*?\): (correct|not attempted yet|incorrect)", text)


def test_student_notebook_runs_and_every_check_says_not_attempted():
    nb = executed(ROOT / "notebooks" / "02_gradient_descent.ipynb")
    text = outputs_text(nb)
    assert check_results(text) == ["not attempted yet"] * 6
    assert "reference solution" in text                  # later cells still work
    assert any("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


def test_solution_notebook_runs_and_every_check_is_correct():
    nb = executed(ROOT / "notebooks" / "solutions" / "02_gradient_descent.ipynb")
    text = outputs_text(nb)
    assert check_results(text) == ["correct"] * 6
    assert "accuracy 100%" in text


def test_the_readme_lists_every_notebook_with_colab_and_binder_badges():
    path, text = make.readme(ROOT, [p.stem for p in SOURCES])
    assert path.read_bytes() == text, "README's notebook table is stale: run " + make.COMMAND
    repo = make.repository()
    for p in SOURCES:
        assert f"colab.research.google.com/github/{repo[19:]}/blob/main/notebooks/{p.stem}" \
            in text.decode()
        assert f"mybinder.org/v2/gh/{repo[19:]}/main?labpath=notebooks/{p.stem}" in text.decode()


def setup_code(data):
    code = cells(data, "code")[0]
    assert code.startswith("# Setup for Google Colab")
    return code


@pytest.mark.parametrize("rel", sorted(GENERATED))
def test_every_notebook_starts_with_the_colab_setup_cell(rel):
    assert make.repository() + ".git" in setup_code(GENERATED[rel])


def test_the_setup_cell_does_nothing_outside_colab(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("subprocess.run", lambda *a, **k: pytest.fail("ran a command"))
    exec(setup_code(next(iter(GENERATED.values()))), {})
    assert list(tmp_path.iterdir()) == []


def test_on_colab_the_setup_cell_installs_once_and_brings_the_data(monkeypatch, tmp_path):
    import importlib.util as iu
    import types

    commands = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr("subprocess.run", lambda cmd, check: commands.append(cmd))
    find_spec = iu.find_spec
    monkeypatch.setattr(iu, "find_spec", lambda name, *a: None if name == "optilab"
                        else find_spec(name, *a))           # a fresh runtime: not installed
    code = setup_code(next(iter(GENERATED.values())))
    exec(code, {})
    (pip,) = commands
    repo = make.repository()
    assert pip[1:5] == ["-m", "pip", "install", "-q"]
    assert f"optilab @ git+{repo}.git" in pip
    assert any(a.endswith("/main/requirements_colab.txt") for a in pip)
    assert (tmp_path / "distances.npy").read_bytes() == (
        ROOT / "optilab" / "data" / "distances.npy").read_bytes()
    monkeypatch.setattr(iu, "find_spec", find_spec)          # after a restart: installed
    exec(code, {})
    assert len(commands) == 1


def test_binder_installs_the_runtime_dependencies_and_optilab():
    wanted = re.findall(r'^\s+"([a-z-]+)>=', (ROOT / "pyproject.toml").read_text().split(
        "[project.optional-dependencies]")[0], re.MULTILINE)
    binder = (ROOT / "binder" / "requirements.txt").read_text()
    assert wanted and all(re.search(rf"^{name}>=", binder, re.MULTILINE) for name in wanted)
    assert "download.pytorch.org/whl/cpu" in binder        # not the multi-GB CUDA build
    post = ROOT / "binder" / "postBuild"
    assert "pip install --no-deps -e ." in post.read_text() and post.stat().st_mode & 0o111
