"""Start JupyterLab (or Notebook 7) for the browser tests, and stop it again by its process id.

The server listens on 127.0.0.1 on a free port with an empty token, and runs with its own config,
settings, workspaces and runtime directories, so nothing of the user's Jupyter set-up leaks in and
the news and update checks are off.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "PANEL_JS", "JupyterServer", "chromium", "free_port", "notebook_path",
           "open_notebook", "start_jupyter"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

_NOTIFICATIONS = "@jupyterlab/apputils-extension/notification.jupyterlab-settings"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class JupyterServer:
    """A running server: its URL, root folder, process and log file."""

    url: str
    root: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """SIGTERM the server (it shuts its kernels down), then kill what is left of its group."""
        pid = self.proc.pid
        if self.proc.poll() is None:
            os.kill(pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(pid, signal.SIGKILL)  # the group this test started (kernels included)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=5)


def start_jupyter(tmp: Path, root: Path, app: str = "jupyterlab", timeout: float = 90,
                  env: dict[str, str] | None = None) -> JupyterServer:
    """Start ``python -m jupyterlab`` (or ``notebook``) serving ``root``; wait until it answers.

    The server and its kernels get their own ``NBFLOW_HOME`` under ``tmp``: runs made by the
    notebooks never land in the user's run history. ``env`` adds to (or overrides) the environment.
    """
    settings = tmp / "settings"
    (settings / Path(_NOTIFICATIONS).parent).mkdir(parents=True, exist_ok=True)
    (settings / _NOTIFICATIONS).write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {**os.environ,
           "JUPYTER_CONFIG_DIR": str(tmp / "config"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
           "JUPYTER_PLATFORM_DIRS": "1",
           "PYTHONUNBUFFERED": "1",
           "NBFLOW_HOME": str(tmp / "nbflow_home"),
           **(env or {})}
    env.pop("JUPYTER_TOKEN", None)
    port = free_port()
    app_class = "LabApp" if app == "jupyterlab" else "JupyterNotebookApp"
    cmd = [sys.executable, "-m", app, "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
           "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
           f"--ServerApp.root_dir={root}", f"--{app_class}.expose_app_in_browser=True",
           "--JupyterNotebookApp.expose_app_in_browser=True",
           f"--{app_class}.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if app == "jupyterlab":
        cmd.append("--LabApp.extension_manager=readonly")  # no package index queries
    else:
        cmd.pop()  # the update-check option belongs to JupyterLab's app only
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI containers run as root
    log = tmp / f"{app}.log"
    out = log.open("wb")
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{app} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/status", timeout=2).status_code == 200:
                return JupyterServer(url, root, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    server = JupyterServer(url, root, proc, log)
    server.stop()
    raise RuntimeError(f"{app} did not answer within {timeout}s:\n{log.read_text()[-3000:]}")


@contextmanager
def chromium(profile: Path, width: int, height: int, **options: Any) -> Iterator[Any]:
    """A Playwright context in Debian's headless Chromium with a fresh profile (``options`` go to
    ``launch_persistent_context``, e.g. ``accept_downloads=True``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height}, **options)
        try:
            yield ctx
        finally:
            ctx.close()


#: The notebook panel showing ``path`` (not whatever tab has the focus).
PANEL_JS = """(path) => { const app = window.jupyterapp; if (!app) return null;
  for (const w of app.shell.widgets('main')) { if (w.context && w.context.path === path) return w; }
  return null; }"""

_READY_JS = """(path) => { const w = (""" + PANEL_JS + """)(path);
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(k && k.status === 'idle' && w.content && w.content.model); }"""

_RUN_ALL_JS = """(path) => { const app = window.jupyterapp, w = (""" + PANEL_JS + """)(path);
  app.shell.activateById(w.id);
  if (app.shell.collapseLeft) app.shell.collapseLeft();
  app.commands.execute('notebook:run-all-cells'); }"""

_CURRENT_JS = """(path) => { const w = window.jupyterapp.shell.currentWidget;
  return !!(w && w.context && w.context.path === path); }"""


def notebook_path(url: str) -> str:
    """The server-relative path of the notebook a JupyterLab (``/lab/tree/``) or Notebook 7
    (``/notebooks/``) URL opens."""
    return url.split("/tree/", 1)[-1] if "/tree/" in url else url.split("/notebooks/", 1)[-1]


def open_notebook(ctx: Any, url: str, *, timeout: int = 60_000, run_all: bool = True, canvas: bool = False) -> Any:
    """Open ``url`` in a new page of ``ctx``, wait until that notebook's kernel is idle, make it the
    current tab and press Run All; with ``canvas``, wait until an editor's canvas shows, scrolled into view.

    JupyterLab opens with ``?reset``: otherwise it restores the tabs earlier tests of the same server
    left open, one of them may take the focus from the notebook asked for, and Run All or a lookup of
    ``canvas.nbflow-canvas`` then reaches a canvas in a hidden tab. The notebook is found by its path,
    never as "the current widget".
    """
    page = ctx.new_page()
    path = notebook_path(url)
    page.goto(url + "?reset" if "/lab/" in url else url)
    page.wait_for_function(_READY_JS, arg=path, timeout=timeout)
    if run_all:
        page.evaluate(_RUN_ALL_JS, path)
        page.wait_for_function(_CURRENT_JS, arg=path, timeout=timeout)
    if canvas:
        page.wait_for_selector("canvas.nbflow-canvas", timeout=timeout)
        page.locator("canvas.nbflow-canvas").first.scroll_into_view_if_needed()
    return page
