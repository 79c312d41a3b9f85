"""Every command of the README's Commands block prints its table within 100 columns (issue 15).

The block's lines are run as written with --format table: optional [..] parts left out, the
"a|b" alternatives taken first, and the placeholder files (routing.jsonl, loads.json, ...) given
real ones in a temporary folder. Expected failures (--strict on a step that cannot fit) still
print nothing wider."""

import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(os.environ.get("LLMGPS_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
SHARED = ROOT.parent / "shared"
TRACE = SHARED / "data/traces/mixtral-8x7b-gsm8k-2problems.jsonl"
TRACE_B = SHARED / "data/traces/mixtral-8x7b-humaneval-2problems.jsonl"


def readme_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("## Commands", 1)[1].split("```", 2)[1]
    joined = re.sub(r"\\\n\s*", " ", block)
    for line in joined.splitlines():
        line = line.split("  #", 1)[0].strip()
        if not line.startswith("llmgps "):
            continue
        line = re.sub(r"\[[^\]]*\]", " ", line)                    # optional parts
        line = re.sub(r"(\S+)\|\S+", r"\1", line)                  # a|b -> a
        line = re.sub(r"--format \S+", " ", line)                  # the table, always
        yield pytest.param(" ".join(line.split()[1:]), id=line[7:60])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("readme")
    shutil.copy(TRACE, d / "routing.jsonl")
    shutil.copy(TRACE, d / "a.jsonl")
    shutil.copy(TRACE_B, d / "b.jsonl")
    loads = [[float(8 - (e % 8)) for e in range(16)] for _ in range(3)]
    (d / "loads.json").write_text(json.dumps({"loads": loads}))
    counts = [[float(1 + (e * 7) % 13) for e in range(256)] for _ in range(2)]
    (d / "logical_count.json").write_text(json.dumps({"logical_count": counts}))
    (d / "data").symlink_to(ROOT / "data")
    return d


@pytest.mark.parametrize("args", list(readme_commands()))
def test_readme_command_tables_fit_100_columns(args, workdir):
    if not (SHARED / "data/traces").exists() and "jsonl" in args:
        pytest.skip("needs ../shared traces")
    out = subprocess.run([os.environ["LLMGPS_BINARY"], *shlex.split(args)], capture_output=True,
                         text=True, cwd=workdir)
    assert out.returncode in (0, 2), out.stderr
    # stdout: errors and warnings on stderr are one line each, whatever their length.
    wide = [line for line in out.stdout.splitlines() if len(line) > 100]
    assert not wide, f"{len(wide)} lines wider than 100, e.g. {wide[0]!r}"
