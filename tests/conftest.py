"""Fixtures: the bundled corpus indexed once through the real `newssearch` command."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED_DATA = ROOT.parent / "shared" / "data"


def newssearch(*args: str, check: bool = True, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed `newssearch` console script (the real entry point)."""
    exe = shutil.which("newssearch") or str(Path(sys.executable).with_name("newssearch"))
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
