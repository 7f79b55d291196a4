"""A real headless Chromium for the Mini App's page, driven through chromedriver's W3C WebDriver API.

No Selenium: the few WebDriver calls the tests need are HTTP requests to
chromedriver on loopback (httpx, already a dependency). Debian's packages
``chromium`` and ``chromium-driver`` provide both programs; CI installs them
(``.ci/run``). On a machine without them the test FAILS with one line saying
what to install: tests never skip.

Chromium runs with a fresh profile, no network beyond loopback pages, and the
Noto Sans CJK font installed with the project (``noto-cjk-sans-otc``) made
known to it through a private fontconfig file, so Chinese renders on a
machine without CJK fonts of its own.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
)
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def chromium_problem() -> str | None:
    """Why no browser can run here (None: both programs are installed)."""
    if not any(shutil.which(name) for name in CHROMIUM_NAMES):
        return "Chromium is not installed: apt-get install -y chromium chromium-driver (CI does, in .ci/run)"
    if shutil.which("chromedriver") is None:
        return "chromedriver is not installed: apt-get install -y chromium-driver (CI does, in .ci/run)"
    return None


def _binary() -> str:
    # Debian's /usr/bin/chromium is a shell wrapper; chromedriver wants the program itself.
    real = Path("/usr/lib/chromium/chromium")
    if real.exists():
        return str(real)
    return next(str(Path(p)) for name in CHROMIUM_NAMES if (p := shutil.which(name)))


def _fontconfig(folder: Path) -> Path:
    """A fontconfig file adding the project's own CJK font to the system's."""
    dirs = []
    try:
        from noto_cjk_sans_otc import FONT_PATH

        dirs.append(f"<dir>{Path(FONT_PATH).parent}</dir>")
    except ImportError:
        pass
    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        + "".join(dirs) + f"<cachedir>{folder / 'cache'}</cachedir></fontconfig>"
    )
    return conf


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Browser:
    """One Chromium session (``async with Browser() as b``)."""

    def __init__(self, width: int = 420, height: int = 900) -> None:
        self.width, self.height = width, height
        self._folder = Path(tempfile.mkdtemp(prefix="webapp-browser-"))
        self._driver: subprocess.Popen[bytes] | None = None
        self._http: httpx.AsyncClient | None = None
        self._session = ""

    async def __aenter__(self) -> Browser:
        problem = chromium_problem()
        if problem is not None:
            pytest.fail(problem, pytrace=False)
        port = _free_port()
        env = {**os.environ, "FONTCONFIG_FILE": str(_fontconfig(self._folder))}
        self._driver = subprocess.Popen(  # noqa: ASYNC220  # starts the driver and returns: nothing waits
            [shutil.which("chromedriver") or "chromedriver", f"--port={port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )
        self._http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60)
        for _ in range(100):
            try:
                if (await self._http.get("/status")).json()["value"]["ready"]:
                    break
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            await asyncio.sleep(0.1)
        answer = await self._http.post("/session", json={"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": _binary(),
                "args": [*CHROMIUM_ARGS, f"--user-data-dir={self._folder / 'profile'}",
                         f"--window-size={self.width},{self.height}"],
            },
        }}})
        value = answer.json()["value"]
        assert "sessionId" in value, f"chromedriver refused a session: {value}"
        self._session = value["sessionId"]
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._http is not None and self._session:
                await self._http.delete(f"/session/{self._session}")
        finally:
            if self._http is not None:
                await self._http.aclose()
            if self._driver is not None:
                self._driver.terminate()
                try:
                    self._driver.wait(10)
                except subprocess.TimeoutExpired:
                    self._driver.kill()
            shutil.rmtree(self._folder, ignore_errors=True)

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        assert self._http is not None
        answer = await self._http.request(method, f"/session/{self._session}{path}", json=body)
        value = answer.json()["value"]
        if answer.status_code != 200:
            raise AssertionError(f"WebDriver {method} {path}: {value}")
        return value

    async def get(self, url: str) -> None:
        await self._call("POST", "/url", {"url": url})

    async def run(self, script: str, *args: Any) -> Any:
        return await self._call("POST", "/execute/sync", {"script": script, "args": list(args)})

    async def wait(self, script: str, timeout: float = 20.0) -> Any:
        """Until ``script`` (a JavaScript expression) is truthy; its value."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.run(f"return ({script});")
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                body = await self.run("return document.body.innerText;")
                raise AssertionError(f"the page never showed {script!r}; it shows:\n{body[:2000]}")
            await asyncio.sleep(0.1)

    async def find(self, css: str) -> str:
        found = await self._call("POST", "/element", {"using": "css selector", "value": css})
        assert isinstance(found, dict) and ELEMENT in found, f"no element {css!r}: {found}"
        return str(found[ELEMENT])

    async def click(self, css: str) -> None:
        await self._call("POST", f"/element/{await self.find(css)}/click", {})

    async def type(self, css: str, text: str) -> None:
        await self._call("POST", f"/element/{await self.find(css)}/value", {"text": text})

    async def screenshot(self, path: Path, full_height: bool = True) -> None:
        """A PNG of the page (resized to the whole page's height first, for a full screenshot)."""
        if full_height:
            height = await self.run("return document.documentElement.scrollHeight;")
            await self._call("POST", "/window/rect", {"width": self.width, "height": int(height) + 140})
        data = await self._call("GET", "/screenshot")
        path.write_bytes(base64.b64decode(data))  # noqa: ASYNC240  # a test's screenshot, once
        if full_height:
            await self._call("POST", "/window/rect", {"width": self.width, "height": self.height})
