"""The explorer in a real browser: JupyterLab + Debian's Chromium, driven by Playwright.

Opens a notebook with an explorer, runs it, moves the learning-rate slider with the
keyboard, and checks that the picture changed and that a too-large learning rate shows
the divergence message.  Every wait is bounded; the server is always stopped.
Under CI (CI=true) a missing browser is a failure, not a skip.
"""

import os
from pathlib import Path

import nbformat
import pytest
from lab_for_browser import CHROMIUM, CHROMIUM_ARGS, jupyterlab

IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")
CELL = """\
from optilab.widgets import explore
ex = explore("rosenbrock", optimizer="sgd", lr=1e-3, steps=50)
ex"""


def _browser_or_skip():
    missing = [what for what, ok in (("/usr/bin/chromium", Path(CHROMIUM).exists()),
                                     ("playwright", _has_playwright())) if not ok]
    if missing:
        message = (f"the browser test needs {' and '.join(missing)} "
                   f"(python3 dev.py test installs them)")
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def _has_playwright():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def test_the_learning_rate_slider_changes_the_picture_and_shows_divergence(tmp_path):
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    root = tmp_path / "notebooks"
    root.mkdir()
    nbformat.write(nb, root / "explorer.ipynb")
    with jupyterlab(root, tmp_path / "jupyter") as lab, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(lab.url("lab/tree/explorer.ipynb"))
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")
            page.click(".jp-Cell .jp-InputArea-editor")
            page.keyboard.press("Shift+Enter")
            picture = page.locator(".optilab-picture")
            picture.wait_for()
            page.wait_for_function(
                "() => document.querySelector('.optilab-picture').naturalWidth > 0")
            first = picture.get_attribute("src")
            assert page.locator(".optilab-ok").count() == 1           # lr = 1e-3 converges
            page.focus(".optilab-lr .noUi-handle")
            for _ in range(20):              # 20 steps of 0.05 decades: lr 1e-3 -> 1e-2
                page.keyboard.press("ArrowRight")
            page.wait_for_selector(".optilab-diverged", timeout=60_000)
            assert picture.get_attribute("src") != first, "the picture did not change"
            message = page.locator(".optilab-diverged").inner_text()
            assert "diverged at step" in message and "lr <" in message
            page.screenshot(path=str(tmp_path / "explorer.png"))
        finally:
            browser.close()
