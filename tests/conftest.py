"""Fixtures: the bundled corpus indexed once through the real `newssearch` command."""
from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED_DATA = ROOT.parent / "shared" / "data"


def console_script() -> str:
    """The `newssearch` console script installed beside this Python (a venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("newssearch")
    return str(beside) if beside.exists() else shutil.which("newssearch") or str(beside)


def newssearch(*args: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed `newssearch` console script (the real entry point)."""
    exe = console_script()
    proc = subprocess.run([exe, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"newssearch {' '.join(map(str, args))} exited {proc.returncode}\n"
                             f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}")
    return proc


def query_json(index: Path, *args: str) -> dict:
    return json.loads(newssearch("query", *args, "--index", index, "--json").stdout)


def needs_shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the project's ../shared/data, present in CI, not in a user's clone)")
    return path


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory) -> Path:
    index = tmp_path_factory.mktemp("corpus") / "index"
    proc = newssearch("index", CORPUS, "--index", index, "--json")
    report = json.loads(proc.stdout)
    assert report["failed"] == 0, report["problems"]
    return index


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`newssearch serve` in a subprocess on 127.0.0.1, started and stopped by the test."""

    def __init__(self, index: Path, *extra: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        exe = console_script()
        self.proc = subprocess.Popen([exe, "serve", "--index", str(index), "--port", str(self.port), *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}: {self.proc.stdout.read()}")
            try:
                if self.get("/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("server did not answer /health within 30 s")

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, dict]:
        """GET a raw path (sent as written, so malformed encodings reach the server): (status, json, headers)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path, headers=headers or {})
            res = conn.getresponse()
            body = res.read()
            kind = res.getheader("content-type", "")
            data = json.loads(body) if kind.startswith("application/json") else {"_text": body.decode()}
            return res.status, data, {k.lower(): v for k, v in res.getheaders()}
        finally:
            conn.close()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def server(corpus_index) -> Server:
    srv = Server(corpus_index)
    yield srv
    srv.stop()
