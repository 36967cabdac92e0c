"""``python -m optilab doctor`` (or ``optilab.doctor.doctor()`` in a notebook cell): what a
student pastes into a help request -- the front end, the matplotlib and widget backends,
the versions that matter, and whether a live plot renders here.

    >>> "optilab" in report()
    True
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
import time

PACKAGES = ("optilab", "numpy", "torch", "matplotlib", "ipywidgets", "ipympl", "IPython",
            "ipykernel", "jupyterlab", "notebook", "scipy", "tqdm")


def front_end() -> str:
    """Where this code runs: Colab, VS Code, a Jupyter kernel, an IPython shell or a script."""
    if "google.colab" in sys.modules:
        return "Google Colab"
    shell = _shell()
    in_kernel = shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
    if "VSCODE_PID" in os.environ or "VSCODE_CWD" in os.environ:
        return "VS Code (notebook kernel)" if in_kernel else "VS Code (terminal)"
    if in_kernel:
        return "a Jupyter kernel (JupyterLab, Notebook 7 or another Jupyter front end)"
    if shell is not None:
        return f"an IPython shell ({type(shell).__name__})"
    return "a plain Python process (run optilab.doctor.doctor() in a notebook cell to " \
           "check the kernel)"


def _shell() -> object | None:
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def live_display_check() -> str:
    """Draw one frame of a live plot off screen, as a notebook would show it."""
    try:
        from .plot import LivePlot

        start = time.perf_counter()
        plot = LivePlot("rosenbrock", "contour", output=None)
        plot.add_point([-1.2, 1.0])
        png = plot.renderer.png()
        ms = (time.perf_counter() - start) * 1e3
        from .plot.live import in_notebook

        shown = ("shown in place through an IPython display handle" if in_notebook() else
                 "no notebook here to show it in")
        return f"works (one frame drawn, a {len(png) / 1024:.0f} KiB PNG, in {ms:.0f} ms; " \
               f"{shown})"
    except Exception as e:  # noqa: BLE001 - the report says what failed
        return f"FAILED: {type(e).__name__}: {e}"


def report() -> str:
    """The help-request text, one fact per line."""
    import matplotlib

    lines = [
        "optilab doctor",
        f"front end: {front_end()}",
        f"python: {sys.version.split()[0]} ({platform.platform()})",
        f"matplotlib backend: {matplotlib.get_backend()}",
        "interactive widget backend (ipympl): "
        + ("active (%matplotlib widget)" if "ipympl" in matplotlib.get_backend()
           or matplotlib.get_backend() == "widget" else "not active (optilab does not need it)"),
        f"live display: {live_display_check()}",
        "versions:",
        *(f"  {name}: {_version(name)}" for name in PACKAGES),
    ]
    return "\n".join(lines)


def doctor() -> None:
    """Print :func:`report`."""
    print(report())
