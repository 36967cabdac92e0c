"""Command line: ``python -m optilab animate NAME ...`` -- animations for slides.

    python -m optilab animate rosenbrock --optimizers sgd,adam,rmsprop --lr 1e-3 \\
        --steps 200 -o race.gif
    python -m optilab animate himmelblau --optimizers sgd,adam --lr 0.01,0.1 --view surface \\
        --start 0,0 --panels loss -o race.mp4
    python -m optilab functions              # the test functions it knows
    python -m optilab doctor                 # what to paste into a help request

Everything on the command line is a name from a fixed list (test functions, optimizers,
views, panels) or a number; nothing is ever evaluated as code.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import functions

FORMATS = (".gif", ".mp4", ".html")


def _function(name: str) -> functions.TestFunction:
    try:
        tf = functions.get(name)
    except (TypeError, ValueError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if tf.dim not in (1, 2):
        raise argparse.ArgumentTypeError(f"{tf.name} has {tf.dim} coordinates; only 1D and 2D "
                                         f"functions can be animated")
    return tf


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number such as 0.01 or 1e-3, got "
                                         f"{text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _numbers(text: str) -> list[float]:
    return [_number(t) for t in text.split(",") if t.strip()]


def _positive_numbers(text: str) -> list[float]:
    values = _numbers(text)
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive numbers separated by commas "
                                         f"(e.g. 1e-3 or 0.01,0.1), got {text!r}")
    return values


def _names(choices: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        names = [t.strip().lower() for t in text.split(",") if t.strip()]
        wrong = [n for n in names if n not in choices]
        if not names or wrong:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(choices)} (separated by "
                                             f"commas), got {text!r}")
        return names

    return parse


def _output(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in FORMATS:
        raise argparse.ArgumentTypeError(f"the output must end in {', '.join(FORMATS)}, got "
                                         f"{text!r}")
    folder = path.parent.resolve()
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"the folder {str(path.parent)!r} does not exist: "
                                         f"create it first, or save elsewhere")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write into {str(path.parent)!r} (no "
                                         f"permission): save elsewhere")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder: give a file name")
    return path


def _in_range(low: float, high: float, what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = _number(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be between {low:g} and {high:g}, "
                                             f"got {text}")
        return value
    return parse


def _count(low: int, high: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, got "
                                             f"{text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be between {low:,} and {high:,}, "
                                             f"got {value:,}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m optilab`` argument parser."""
    from .optim import OPTIMIZERS

    parser = argparse.ArgumentParser(
        prog="python -m optilab",
        description="optilab's command line: animations of optimizer races, for slides.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("functions", help="list the test functions")
    commands.add_parser("doctor", help="what to paste into a help request: front end, "
                                       "backends, versions, whether a live plot renders")
    anim = commands.add_parser(
        "animate", help="race optimizers on a test function, save a GIF, MP4 or HTML",
        description="Race optimizers on a test function from the same start and save the "
                    "animation (.gif with Pillow, .mp4 with ffmpeg, .html player).")
    anim.add_argument("function", type=_function, metavar="NAME",
                      help="a test function: " + ", ".join(functions.names()))
    anim.add_argument("--optimizers", type=_names(list(OPTIMIZERS)), default=["sgd"],
                      help=f"comma-separated, from {', '.join(OPTIMIZERS)} (default sgd)")
    anim.add_argument("--lr", type=_positive_numbers, default=[1e-3],
                      help="learning rate: one for all, or one per optimizer (default 1e-3)")
    anim.add_argument("--momentum", type=_number, default=None,
                      help="momentum for sgd and rmsprop (default none)")
    anim.add_argument("--steps", type=_count(1, 100_000, "--steps"), default=200,
                      help="steps per run (default 200, at most 100,000)")
    anim.add_argument("--start", type=_numbers, default=None,
                      help="the starting point, e.g. --start=-1.2,1 (default: the function's first "
                           "demo start)")
    anim.add_argument("--view", choices=["curve", "contour", "surface"], default=None,
                      help="contour map (2D default), surface (3D), curve (1D functions)")
    anim.add_argument("--3d", dest="three_d", action="store_true",
                      help="the same as --view surface")
    anim.add_argument("--elev", type=_number, default=30.0, help="3D elevation in degrees")
    anim.add_argument("--azim", type=_number, default=-60.0, help="3D azimuth in degrees")
    anim.add_argument("--panels", type=_names(["loss", "lr"]), default=[],
                      help="panels beside the plot: loss, lr or loss,lr")
    anim.add_argument("--frames", type=_count(2, 2000, "--frames"), default=100,
                      help="at most this many frames, sampled over the steps (default 100)")
    anim.add_argument("--fps", type=_in_range(0.1, 120, "--fps"), default=15.0,
                      help="frames per second (15; 0.1 to 120)")
    anim.add_argument("--dpi", type=_in_range(20, 600, "--dpi"), default=80.0,
                      help="pixels per inch (80; 20 to 600)")
    anim.add_argument("-o", "--output", type=_output, required=True,
                      help="where to save: a name ending in .gif, .mp4 or .html")
    return parser


def animate_command(args: argparse.Namespace) -> int:
    """Run the race and save the animation; returns the exit status."""
    from .optim import race
    from .plot import animate

    tf: functions.TestFunction = args.function
    optimizers, lrs = args.optimizers, args.lr
    if len(lrs) not in (1, len(optimizers)):
        raise ValueError(f"--lr: give one learning rate, or one per optimizer "
                         f"({len(optimizers)}), got {len(lrs)}")
    if args.output.suffix.lower() == ".mp4":
        from matplotlib.animation import writers

        if not writers.is_available("ffmpeg"):
            raise ValueError("an .mp4 needs ffmpeg, which is not installed here (apt-get "
                             "install ffmpeg, or conda install ffmpeg); a .gif or .html needs "
                             "nothing more")
    lrs = lrs * len(optimizers) if len(lrs) == 1 else lrs
    start = args.start if args.start is not None else (
        list(tf.starts[0]) if tf.starts else [sum(tf.x_range) / 2] +
        ([sum(tf.y_range) / 2] if tf.y_range else []))
    if len(start) != tf.dim:
        raise ValueError(f"--start: {tf.name} takes {tf.dim} coordinate(s), got {len(start)}")
    configs: dict[str, dict[str, object]] = {}
    for name, lr in zip(optimizers, lrs):
        label = name if optimizers.count(name) == 1 else f"{name} lr={lr:g}"
        config: dict[str, object] = {"optimizer": name, "lr": lr}
        if args.momentum is not None and name in ("sgd", "rmsprop"):
            config["momentum"] = args.momentum
        configs[label] = config
    view = "surface" if args.three_d else args.view
    runs = race(tf, start, configs, steps=args.steps, progress=False)
    for trajectory in runs.values():
        print(trajectory.summary())
    animation = animate(tf, runs, view, panels=args.panels, frames=args.frames, fps=args.fps,
                        elev=args.elev, azim=args.azim, dpi=args.dpi)
    path = animation.save(args.output, progress=sys.stderr.isatty())
    print(f"saved {path} ({len(animation)} frames, {path.stat().st_size / 1024:.0f} KiB)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m optilab``: the command line's entry point."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "functions":
        for name in functions.names():
            tf = functions.get(name)
            print(f"{name:18s} {tf.dim}D  {tf.formula}")
        return 0
    if args.command == "doctor":
        from .doctor import doctor

        doctor()
        return 0
    if args.command == "animate":
        try:
            return animate_command(args)
        except (RuntimeError, ValueError, OSError) as e:
            print(f"python -m optilab animate: error: {e}", file=sys.stderr)
            return 2
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
