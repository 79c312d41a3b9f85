"""Every figure the CLI draws (the golden SVGs: the MoE map, an estimate sweep, a dropout sweep)
renders with rsvg-convert (Debian's librsvg2-bin, installed by scripts/setup) to a non-empty PNG,
has a viewBox, and keeps text dark (issue 15)."""

import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(os.environ.get("LLMGPS_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
SVGS = sorted((ROOT / "tests/golden/commands").glob("*.svg"))


def test_there_are_figures_of_each_kind():
    names = {p.stem for p in SVGS}
    assert {"moe-map", "estimate-sweep", "dropout-sweep"} <= names


@pytest.mark.parametrize("svg", SVGS, ids=[p.stem for p in SVGS])
def test_figure_renders_with_rsvg(svg, tmp_path):
    rsvg = shutil.which("rsvg-convert")
    if rsvg is None:
        pytest.fail("rsvg-convert is missing: scripts/setup installs librsvg2-bin")
    png = tmp_path / (svg.stem + ".png")
    out = subprocess.run([rsvg, str(svg), "-o", str(png)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    text = svg.read_text()
    assert 'viewBox="0 0 ' in text
    assert 'fill="white">' not in text  # no white text
