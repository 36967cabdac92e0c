"""The city data (names, coordinates, geodesic distances) and the lab's building blocks.

Covers: the 36 names in order, sanity distances, the matrix's properties, staleness of the stored
file against ``scripts/make_distances.py``, loading from other working directories, through the
repo's symlinks and from a built wheel, the criterion on three engines, and every bad-input error.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import optilab.autograd as ag
from optilab.cities import (
    Cities,
    criterion,
    load_cities,
    normalise,
    random_start,
    read_cities_csv,
    validate_distances,
)

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DATA = ROOT / "optilab" / "data"
SCRIPT = ROOT / "scripts" / "make_distances.py"

NAMES = (
    "Amsterdam", "Athens", "Barcelone", "Belgrade", "Berlin", "Brussels", "Bucarest", "Budapest",
    "Copenhagen", "Dublin", "Gibraltar", "Helsinki", "Istanbul", "Kiev", "Kiruna", "Lisbon",
    "London", "Madrid", "Milan", "Moscow", "Munich", "Oslo", "Paris", "Prague", "Reykjavik",
    "Riga", "Rome", "Sofia", "Stockholm", "Tallinn", "Toulouse", "Trondheim", "Varsovie",
    "Vienne", "Vilnius", "Zurich",
)
ENGLISH = {"Barcelone": "Barcelona", "Bucarest": "Bucharest", "Varsovie": "Warsaw",
           "Vienne": "Vienna"}


@pytest.fixture(scope="module")
def cities() -> Cities:
    return load_cities()


def _script():
    spec = importlib.util.spec_from_file_location("make_distances", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _python(code: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


# ------------------------------------------------------------------------------ content

def test_the_36_names_in_the_course_order(cities):
    assert cities.names == NAMES
    assert len(cities) == 36
    assert cities.english == tuple(ENGLISH.get(name, name) for name in NAMES)


def test_coordinates_are_the_csv_ones_and_in_europe(cities):
    names, english, lat, lon = read_cities_csv(PACKAGE_DATA / "cities.csv")
    assert names == cities.names and english == cities.english
    np.testing.assert_array_equal(cities.coordinates, np.column_stack((lat, lon)))
    assert np.all((lat > 35) & (lat < 70)) and np.all((lon > -25) & (lon < 40))
    assert cities.coordinates[cities.index("Kiruna")][0] > 67    # north of the Arctic circle


def test_the_csv_says_how_to_regenerate_and_the_reader_skips_it():
    first = (PACKAGE_DATA / "cities.csv").read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("#") and "scripts/make_distances.py" in first
    assert read_cities_csv()[0] == NAMES


@pytest.mark.parametrize("a, b, km, rel", [
    ("Paris", "London", 344, 0.01),
    ("Athens", "Reykjavik", 4160, 0.01),
    # The centres are 0.733 degrees of latitude apart, >= 81.6 km by that alone: 82.3 km.
    ("Helsinki", "Tallinn", 80, 0.04),
])
def test_sanity_distances(cities, a, b, km, rel):
    assert cities.distance(a, b) == pytest.approx(km, rel=rel)
    assert cities.distance(b, a) == cities.distance(a, b)


def test_english_and_course_spellings_both_find_a_city(cities):
    assert cities.index("Warsaw") == cities.index("varsovie") == NAMES.index("Varsovie")
    assert cities.distance("Vienna", "Vienne") == 0.0


def test_matrix_is_float64_km_symmetric_with_zero_diagonal(cities):
    d = cities.distances
    assert d.shape == (36, 36) and d.dtype == np.float64
    np.testing.assert_array_equal(d, d.T)
    np.testing.assert_array_equal(np.diagonal(d), 0.0)
    off = d[~np.eye(36, dtype=bool)]
    assert off.min() > 50 and off.max() < 5000                  # km, not metres or degrees


def test_npy_is_plain_and_loads_without_pickle():
    with open(PACKAGE_DATA / "distances.npy", "rb") as f:
        assert f.read(6) == b"\x93NUMPY"
    d = np.load(PACKAGE_DATA / "distances.npy", allow_pickle=False)
    assert d.dtype == np.float64 and d.flags.c_contiguous


# ------------------------------------------------------------------------------ staleness

def test_stored_distances_match_a_fresh_regeneration():
    pytest.importorskip("geographiclib")
    fresh = _script().make_distances(PACKAGE_DATA / "cities.csv")
    stored = np.load(PACKAGE_DATA / "distances.npy", allow_pickle=False)
    np.testing.assert_allclose(
        stored, fresh, rtol=0, atol=1e-9,
        err_msg="optilab/data/distances.npy is stale: run python scripts/make_distances.py",
    )


def test_script_check_mode_flags_a_stale_file(tmp_path):
    pytest.importorskip("geographiclib")
    script = _script()
    assert script.main(["--check"]) == 0
    stale = tmp_path / "distances.npy"
    d = np.load(PACKAGE_DATA / "distances.npy")
    d[0, 1] = d[1, 0] = d[0, 1] + 1.0
    np.save(stale, d)
    assert script.main(["--check", "--output", str(stale)]) == 1
    assert script.main(["--output", str(stale)]) == 0               # regenerate it
    assert script.main(["--check", "--output", str(stale)]) == 0
    assert script.main(["--check", "--output", str(tmp_path / "missing.npy")]) == 1


def test_script_runs_from_the_command_line(tmp_path):
    pytest.importorskip("geographiclib")
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout


# ------------------------------------------------------------------------------ loading

@pytest.mark.parametrize("where", ["notebooks", "elsewhere"])
def test_loads_the_same_from_another_working_directory(cities, where, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT / "notebooks" if where == "notebooks" else tmp_path)
    again = load_cities()
    assert again.names == cities.names
    np.testing.assert_array_equal(again.distances, cities.distances)


def test_course_code_np_load_next_to_the_notebooks(cities, monkeypatch):
    monkeypatch.chdir(ROOT / "notebooks")
    np.testing.assert_array_equal(np.load("distances.npy"), cities.distances)


@pytest.mark.parametrize("link, target", [
    ("data/cities.csv", "../optilab/data/cities.csv"),
    ("data/distances.npy", "../optilab/data/distances.npy"),
    ("notebooks/distances.npy", "../optilab/data/distances.npy"),
])
def test_repo_paths_are_relative_symlinks_to_the_package_data(link, target):
    path = ROOT / link
    assert path.is_symlink(), f"{link} should be a symlink to {target}"
    assert os.readlink(path) == target
    assert path.read_bytes() == (ROOT / "optilab" / "data" / Path(target).name).read_bytes()


def test_data_symlinks_load(cities):
    np.testing.assert_array_equal(np.load(ROOT / "data" / "distances.npy"), cities.distances)
    assert read_cities_csv(ROOT / "data" / "cities.csv")[0] == cities.names


def test_loads_from_an_installed_wheel(tmp_path):
    """What Colab gets: a built package, no repo around it, another working directory."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "optilab", src / "optilab",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", str(src), "-w", str(tmp_path / "wheel")],
        capture_output=True, text=True, timeout=300,
    )
    if built.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {built.stderr[-500:]}")
    (wheel,) = (tmp_path / "wheel").glob("optilab-*.whl")
    with zipfile.ZipFile(wheel) as z:
        assert {"optilab/data/cities.csv", "optilab/data/distances.npy"} <= set(z.namelist())
        z.extractall(tmp_path / "site")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    out = _python(
        "import optilab, optilab.cities as c; d = c.load_cities(); "
        "print(optilab.__file__); print(len(d), round(d.distance('Paris', 'London')))",
        cwd=run_dir, env=env,
    )
    where, summary = out.strip().splitlines()
    assert Path(where).is_relative_to(tmp_path / "site")
    assert summary == "36 344"


def test_importing_the_module_does_not_import_torch():
    out = _python("import sys, optilab.cities; print('torch' in sys.modules)", cwd=ROOT)
    assert out.strip() == "False"


# ------------------------------------------------------------------------------ the problem

def _loop_criterion(X: np.ndarray, D: np.ndarray) -> float:
    n = len(X)
    return sum((np.sum((X[i] - X[j]) ** 2) - D[i, j] ** 2) ** 2
               for i in range(n) for j in range(i + 1, n))


def _closed_form_gradient(X: np.ndarray, D: np.ndarray) -> np.ndarray:
    diff = X[:, None, :] - X[None, :, :]
    r = (diff ** 2).sum(-1) - D ** 2
    return 4 * (r[:, :, None] * diff).sum(1)


def test_normalise_divides_by_the_frobenius_norm(cities):
    D = normalise(cities.distances)
    assert np.linalg.norm(D) == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(D * np.linalg.norm(cities.distances), cities.distances)
    assert isinstance(normalise(ag.Tensor(cities.distances)), ag.Tensor)


def test_random_start_is_seeded_and_normalised():
    X = random_start(36, seed=3)
    assert X.shape == (36, 2) and X.dtype == np.float64
    assert np.linalg.norm(X) == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_array_equal(X, random_start(36, seed=3))
    assert not np.array_equal(X, random_start(36, seed=4))
    assert random_start(5, seed=0, dim=3).shape == (5, 3)


def test_criterion_is_the_sum_over_pairs(cities):
    D = normalise(cities.distances)
    X = random_start(36, seed=1)
    assert float(criterion(X, D)) == pytest.approx(_loop_criterion(X, D), rel=1e-12)
    planar = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 0.0]])
    exact = np.sqrt(((planar[:, None] - planar[None]) ** 2).sum(-1))
    assert float(criterion(planar, exact)) == pytest.approx(0.0, abs=1e-12)


def test_criterion_and_gradient_agree_across_numpy_optilab_and_torch(cities):
    torch = pytest.importorskip("torch")
    D = normalise(cities.distances)
    X = random_start(36, seed=2)
    f_numpy = float(criterion(X, D))

    value, g_ours = ag.value_and_grad(lambda X: criterion(X, D))(X)
    Xt = torch.tensor(X, requires_grad=True)
    ft = criterion(Xt, D)                           # numpy D, torch X: converted inside
    (g_torch,) = torch.autograd.grad(ft, Xt)

    assert float(value) == pytest.approx(f_numpy, rel=1e-12)
    assert ft.item() == pytest.approx(f_numpy, rel=1e-12)
    assert float(criterion(Xt.detach(), torch.tensor(D))) == pytest.approx(f_numpy, rel=1e-12)
    np.testing.assert_allclose(np.asarray(g_ours), g_torch.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(g_torch.numpy(), _closed_form_gradient(X, D), rtol=1e-10,
                               atol=1e-14)


def test_criterion_backward_on_an_optilab_tensor(cities):
    D = normalise(cities.distances)
    X0 = random_start(36, seed=5)
    X = ag.Tensor(X0)
    criterion(X, D).backward()
    np.testing.assert_allclose(np.asarray(X.grad), _closed_form_gradient(X0, D), rtol=1e-10,
                               atol=1e-14)


def test_criterion_keeps_torch_float32(cities):
    torch = pytest.importorskip("torch")
    X = torch.tensor(random_start(36, seed=0), dtype=torch.float32, requires_grad=True)
    f = criterion(X, normalise(cities.distances))
    assert f.dtype == torch.float32 and f.shape == ()


# ------------------------------------------------------------------------------ bad input

def _good() -> np.ndarray:
    return load_cities().distances.copy()


def _with(d: np.ndarray, i: int, j: int, value: float) -> np.ndarray:
    d[i, j] = value
    return d


def _both(d: np.ndarray, i: int, j: int, value: float) -> np.ndarray:
    d[i, j] = d[j, i] = value
    return d


@pytest.mark.parametrize("make, names, expected", [
    (lambda: _good()[:, :35], None,
     r"square \(n, n\) matrix.*got shape \(36, 35\).*Try np\.load"),
    (lambda: np.zeros((2, 3, 3)), None, r"square \(n, n\) matrix.*got shape \(2, 3, 3\)"),
    (lambda: np.array([1.0, 2.0, 3.0]), None, r"got shape \(3,\).*squareform"),
    (lambda: np.zeros((1, 1)), None, r"at least 2 cities, got a 1x1"),
    (lambda: _with(_good(), 22, 16, 350.0), NAMES,
     r"symmetric.*got d\[16, 22\] = 343\.9\d* but d\[22, 16\] = 350 \(London-Paris\)"
     r".*\(d \+ d\.T\) / 2"),
    (lambda: _both(_good(), 0, 1, -5.0), NAMES,
     r">= 0, got -5 at d\[0, 1\] \(Amsterdam-Athens\) and 1 more entries.*np\.abs"),
    (lambda: _both(_good(), 2, 3, np.nan), None,
     r"finite numbers, got nan at d\[2, 3\] and 1 more entries.*missing distances"),
    (lambda: _both(_good(), 2, 3, np.inf), NAMES,
     r"finite numbers, got inf .*Barcelone-Belgrade"),
    (lambda: _with(_good(), 4, 4, 7.0), NAMES,
     r"distance to itself must be 0, got d\[4, 4\] = 7 \(Berlin\).*fill_diagonal"),
    (lambda: _good(), NAMES[:-1], r"expected 36 names, got 35.*load_cities\(\)\.names"),
    (lambda: _good(), NAMES + ("Lyon",), r"expected 36 names, got 37"),
    (lambda: np.zeros((2, 2)), "AB", r"single string 'AB'"),
    (lambda: [["a", "b"], ["c", "d"]], None, r"matrix of numbers, got a list.*np\.array"),
    (lambda: _good() * (1 + 0j), None, r"real numbers \(km\), got complex"),
    (lambda: np.zeros((3, 3)), None, r"all the distances are 0: the 3 cities"),
], ids=["non-square", "3-d", "condensed", "too-small", "asymmetric", "negative", "nan", "inf",
        "diagonal", "too-few-names", "too-many-names", "names-string", "not-numbers", "complex",
        "all-zero"])
def test_bad_distance_matrices_get_teaching_errors(make, names, expected):
    with pytest.raises(ValueError, match=expected):
        validate_distances(make(), names)


def test_validate_accepts_tensors_and_returns_float64():
    torch = pytest.importorskip("torch")
    d = _good()
    t = torch.tensor(d, requires_grad=True)
    np.testing.assert_array_equal(validate_distances(t), d)
    np.testing.assert_array_equal(validate_distances(ag.Tensor(d)), d)
    assert validate_distances(d.astype(np.float32)).dtype == np.float64


def test_other_bad_inputs_get_teaching_errors(cities, tmp_path):
    D = normalise(cities.distances)
    with pytest.raises(ValueError, match=r"X of shape \(n, 2\).*got X \(35, 2\) and D \(36, 36\)"):
        criterion(random_start(35), D)
    with pytest.raises(ValueError, match=r"n must be an integer >= 2.*got 1"):
        random_start(1)
    with pytest.raises(ValueError, match=r"dim must be a positive integer.*got 0"):
        random_start(36, dim=0)
    with pytest.raises(ValueError, match=r"Frobenius norm is 0\.0"):
        normalise(np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"unknown city 'Pariss'.*Varsovie.*'Warsaw'"):
        cities.index("Pariss")
    bad_header = tmp_path / "cities.csv"
    bad_header.write_text("# note\ncity,lat,lon\nParis,48.8,2.3\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"expected the header name,english,latitude,longitude"):
        read_cities_csv(bad_header)
    bad_number = tmp_path / "numbers.csv"
    bad_number.write_text("name,english,latitude,longitude\nParis,Paris,48.8N,2.3\n",
                          encoding="utf-8")
    with pytest.raises(ValueError, match=r"row 1 \('Paris'\) needs numeric latitude"):
        read_cities_csv(bad_number)


def _package_data_in(tmp_path, monkeypatch, csv_lines=None, distances=None):
    """Point load_cities at a copy of the package data, edited."""
    import optilab.cities.data as data

    lines = data._data_file("cities.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "cities.csv").write_text("\n".join(csv_lines(lines) if csv_lines else lines),
                                         encoding="utf-8")
    np.save(tmp_path / "distances.npy", load_cities().distances if distances is None
            else distances)
    monkeypatch.setattr(data, "_data_file", lambda name: tmp_path / name)


def _swap_rows(lines, a="Paris", b="London"):
    i, j = (next(k for k, line in enumerate(lines) if line.startswith(name + ","))
            for name in (a, b))
    lines[i], lines[j] = lines[j], lines[i]
    return lines


def test_two_swapped_rows_of_the_csv_are_named(tmp_path, monkeypatch):
    _package_data_in(tmp_path, monkeypatch, csv_lines=_swap_rows)
    with pytest.raises(ValueError, match=r"does not match the coordinates in cities.csv: "
                                         r"d\[\d+, \d+\] \(\w+-\w+\) is \d+ km.*Regenerate"):
        load_cities()


def test_a_permuted_distance_matrix_is_named(tmp_path, monkeypatch):
    d = load_cities().distances
    order = np.roll(np.arange(len(d)), 1)
    _package_data_in(tmp_path, monkeypatch, distances=d[np.ix_(order, order)])
    with pytest.raises(ValueError, match="does not match the coordinates"):
        load_cities()


def test_a_city_listed_twice_is_named(tmp_path, monkeypatch):
    _package_data_in(tmp_path, monkeypatch,
                     csv_lines=lambda lines: [line.replace("London,", "Paris,", 1)
                                              if line.startswith("London,") else line
                                              for line in lines])
    with pytest.raises(ValueError, match="each city must appear once, but Paris appear"):
        load_cities()


def test_the_real_data_matches_its_coordinates_within_half_a_percent(cities):
    from optilab.cities.data import great_circle_km

    expected = great_circle_km(np.asarray(cities.latitude), np.asarray(cities.longitude))
    off = np.abs(cities.distances - expected)
    assert np.max(off / np.maximum(expected, 1.0)) < 0.005
