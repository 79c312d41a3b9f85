"""Shared fixtures: the command-line binary to compare against, and the repository's data."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = pathlib.Path(os.environ.get("LLMGPS_SOURCE_DIR", HERE.parent.parent))
SHARED = SOURCE.parent / "shared"
sys.path.insert(0, str(HERE))  # eplb_reference


def _binary():
    path = os.environ.get("LLMGPS_BINARY") or str(SOURCE / "build" / "llmgps")
    if not os.path.exists(path):
        pytest.skip(f"no llmgps binary at {path} (set LLMGPS_BINARY)")
    return path


@pytest.fixture(scope="session")
def cli():
    """cli(*args) runs `llmgps args... --format json` and returns the parsed JSON."""
    binary = _binary()

    def run(*args, fmt="json"):
        out = subprocess.run([binary, *map(str, args), "--format", fmt], capture_output=True,
                             text=True, check=True)
        return json.loads(out.stdout) if fmt == "json" else out.stdout

    return run


@pytest.fixture(scope="session")
def cli_error():
    """cli_error(*args) runs a command that must fail with 2 and returns its one stderr line."""
    binary = _binary()

    def run(*args):
        out = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
        assert out.returncode == 2, out.stderr
        return out.stderr.strip()

    return run


@pytest.fixture(scope="session")
def shared():
    if not SHARED.exists():
        pytest.skip("../shared is not here")
    return SHARED


@pytest.fixture(scope="session")
def source():
    return SOURCE
