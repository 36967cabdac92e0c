"""A JupyterLab server for browser tests: localhost only, its own folders, always stopped.

    with jupyterlab(root=tmp_path) as lab:
        page.goto(lab.url("lab/tree/explorer.ipynb"))

The server gets a free port on 127.0.0.1, a random token, and its own config, runtime,
settings and workspace folders (so nothing of the user's leaks in and no news toast pops
up).  It is shut down through its API, and killed by its process id if that fails.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@dataclass
class Server:
    port: int
    token: str
    log: Path

    def url(self, path: str = "lab") -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def api(self, path: str, method: str = "GET") -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/{path}", method=method,
            headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyterlab(root: Path, home: Path, start_timeout: float = 90.0) -> Iterator[Server]:
    """Start JupyterLab on ``root`` (folders under ``home``); stop it on exit."""
    dirs = {name: home / name for name in ("config", "data", "runtime", "settings", "workspaces")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    news = (dirs["settings"] / "@jupyterlab" / "apputils-extension"
            / "notification.jupyterlab-settings")
    news.parent.mkdir(parents=True, exist_ok=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(dirs["config"]),
               JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), JUPYTERLAB_SETTINGS_DIR=str(
                   dirs["settings"]), JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]))
    server = Server(free_port(), secrets.token_hex(16), home / "jupyterlab.log")
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={server.port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={server.token}",
           f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False"]
    with open(server.log, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait_until_up(server, proc, start_timeout)
        yield server
    finally:
        _stop(server, proc)


def _wait_until_up(server: Server, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}:\n"
                               f"{server.log.read_text()[-3000:]}")
        try:
            if server.api("status") == 200:
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"JupyterLab did not answer within {timeout} s:\n"
                       f"{server.log.read_text()[-3000:]}")


def _stop(server: Server, proc: subprocess.Popen) -> None:
    try:
        server.api("shutdown", method="POST")
        proc.wait(timeout=15)
    except (urllib.error.URLError, ConnectionError, TimeoutError, subprocess.TimeoutExpired):
        pass
    if proc.poll() is None:                       # only the server this helper started
        os.killpg(proc.pid, 9)
        proc.wait(timeout=10)
