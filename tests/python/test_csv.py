"""Every command's --format csv is tidy data (issue 15): pandas reads it, every column of numbers
comes out numeric, and no cell carries a unit or a percent sign ("2.2%", "24.4 us" were written
before), units being in the column names instead."""

import io
import os
import pathlib
import re
import subprocess

import pytest

pd = pytest.importorskip("pandas")

ROOT = pathlib.Path(os.environ.get("LLMGPS_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
WITH_UNIT = re.compile(r"^-?[0-9.]+(e[-+]?[0-9]+)?\s*(%|x|us|ms|s|ns|GB|MB|kB|B|GB/s|TFLOP/s)$")


def golden_commands():
    """The commands of tests/golden/commands.txt (every command with its typical options)."""
    for line in (ROOT / "tests/golden/commands.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, args = (part.strip() for part in line.split("|", 1))
        args = [a for a in args.split() if not a.startswith("@")]
        if args[0] == "philox":  # prints words, not records
            continue
        yield pytest.param(args, id=name)


@pytest.mark.parametrize("args", list(golden_commands()))
def test_csv_is_tidy_and_numeric(args):
    binary = os.environ["LLMGPS_BINARY"]
    out = subprocess.run([binary, *args, "--format", "csv"], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    df = pd.read_csv(io.StringIO(out))
    assert len(df) >= 1 and len(df.columns) >= 2
    for column in df.columns:
        cells = df[column].dropna().astype(str)
        with_unit = [c for c in cells if WITH_UNIT.match(c.strip())]
        assert not with_unit, f"{column}: {with_unit[:3]} (units belong in the column name)"
        numbers = pd.to_numeric(df[column].dropna(), errors="coerce")
        if len(numbers) and numbers.notna().all() and df[column].dtype != bool:
            assert pd.api.types.is_numeric_dtype(df[column]), column
    assert "total" not in set(df.iloc[:, 0].astype(str))  # no totals mixed into the rows


def test_dropout_mask_summary_csv_is_numeric(tmp_path):
    binary = os.environ["LLMGPS_BINARY"]
    out = subprocess.run([binary, "dropout", "mask", "--seed", "18446744073709551615", "--batch",
                          "1", "--heads", "2", "--seq", "64", "--p", "0.1", "--out",
                          str(tmp_path / "m.bin"), "--format", "csv"],
                         capture_output=True, text=True, check=True).stdout
    df = pd.read_csv(io.StringIO(out))
    for column in ("elements", "bytes", "p", "keep_fraction", "generate_s"):
        assert pd.api.types.is_numeric_dtype(df[column]), column
    assert str(df["seed"][0]) == "18446744073709551615"  # unsigned, as the JSON has it
