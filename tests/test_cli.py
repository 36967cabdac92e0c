"""``python -m optilab``: the instructors' command line (animations of optimizer races)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from optilab.__main__ import main

ROOT = Path(__file__).resolve().parents[1]


def optilab(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optilab", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_race_gif_of_100_frames_stays_under_1_mb(tmp_path):
    proc = optilab("animate", "rosenbrock", "--optimizers", "sgd,adam,rmsprop", "--lr", "1e-3",
                   "--steps", "200", "-o", "race.gif", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    gif = tmp_path / "race.gif"
    assert "(100 frames" in proc.stdout
    assert proc.stdout.count("ran all 200 steps") == 3
    assert gif.stat().st_size < 1024 * 1024
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.size == (480, 360) and image.n_frames > 50


def test_3d_view_panels_and_html(tmp_path, capsys):
    out = tmp_path / "race.html"
    assert main(["animate", "himmelblau", "--optimizers", "sgd,adam", "--lr", "0.01,0.1",
                 "--start", "0,0", "--steps", "30", "--frames", "12", "--3d",
                 "--panels", "loss,lr", "-o", str(out)]) == 0
    assert "(12 frames" in capsys.readouterr().out
    assert out.read_text().count("data:image/png;base64") == 12


def test_a_1d_function_is_drawn_as_a_curve(tmp_path):
    out = tmp_path / "bumpy.gif"
    assert main(["animate", "bumpy_1d", "--lr", "0.5", "--steps", "20", "--frames", "5",
                 "-o", str(out)]) == 0
    assert out.exists()


@pytest.mark.parametrize("args, message", [
    (["animate", "__import__('os').system('touch pwned')", "-o", "x.gif"],
     "unknown test function"),
    (["animate", "rosenbrock", "--lr", "__import__('os')", "-o", "x.gif"], "expected a number"),
    (["animate", "rosenbrock", "--lr", "0,-1", "-o", "x.gif"], "positive numbers"),
    (["animate", "rosenbrock", "--lr", "nan", "-o", "x.gif"], "finite"),
    (["animate", "rosenbrock", "--optimizers", "sgd,exec", "-o", "x.gif"], "choose from"),
    (["animate", "rosenbrock", "--start", "1+1,2", "-o", "x.gif"], "expected a number"),
    (["animate", "rosenbrock", "-o", "x.py"], "must end in .gif, .mp4, .html"),
])
def test_code_on_the_command_line_is_never_evaluated(tmp_path, monkeypatch, capsys, args,
                                                     message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []                      # nothing ran, nothing written


def test_the_same_through_a_real_process(tmp_path):
    proc = optilab("animate", "__import__('os').system('touch pwned')", "-o", "x.gif",
                   cwd=tmp_path)
    assert proc.returncode == 2 and "unknown test function" in proc.stderr
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "x.gif").exists()


def test_functions_lists_the_library(capsys):
    assert main(["functions"]) == 0
    out = capsys.readouterr().out
    assert "rosenbrock" in out and "himmelblau" in out


@pytest.mark.parametrize("args, message", [
    (["-o", "missing/x.gif"], "the folder 'missing' does not exist"),
    (["-o", "x.gif", "--fps", "0"], "--fps must be between 0.1 and 120, got 0"),
    (["-o", "x.gif", "--dpi", "5000"], "--dpi must be between 20 and 600, got 5000"),
    (["-o", "x.gif", "--steps", "100000000"], "--steps must be between 1 and 100,000"),
    (["-o", "x.gif", "--frames", "1"], "--frames must be between 2 and 2,000"),
])
def test_impossible_requests_are_refused_before_any_work(tmp_path, monkeypatch, capsys, args,
                                                         message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(["animate", "rosenbrock", *args])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_mp4_without_ffmpeg_is_named_before_any_work(tmp_path, monkeypatch, capsys):
    from matplotlib.animation import writers

    monkeypatch.setattr(writers, "is_available", lambda name: False)
    assert main(["animate", "rosenbrock", "--steps", "3", "-o", str(tmp_path / "x.mp4")]) == 2
    assert "needs ffmpeg" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_an_os_error_while_saving_is_one_line(tmp_path, monkeypatch, capsys):
    from optilab.plot import animation

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "x.gif")

    monkeypatch.setattr(animation, "save_animation", refuse)
    assert main(["animate", "rosenbrock", "--steps", "3", "--frames", "2",
                 "-o", str(tmp_path / "x.gif")]) == 2
    err = capsys.readouterr().err
    assert "error: [Errno 13] Permission denied" in err and "Traceback" not in err


def test_doctor_reports_what_a_help_request_needs(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for line in ("front end: a plain Python process", "matplotlib backend:",
                 "live display: works", "  torch: 2.", "  ipywidgets: "):
        assert line in out, line
