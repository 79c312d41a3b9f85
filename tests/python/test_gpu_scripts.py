"""scripts/gpu/lib.sh, the part of the GPU scripts that runs without a GPU: which preset a GPU gets,
and a carried kit that lacks a tool failing with its name (nvidia-smi is faked)."""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(os.environ.get("LLMGPS_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
LIB = ROOT / "scripts/gpu/lib.sh"


def run_lib(tmp_path, gpu_name, script):
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    smi = fake / "nvidia-smi"
    smi.write_text(f"#!/bin/sh\necho '{gpu_name}'\n")
    smi.chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}")
    return subprocess.run(["sh", "-c", f". '{LIB}'; {script}"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("name,preset", [
    ("NVIDIA H200", "h200-sxm"),
    ("NVIDIA H100 80GB HBM3", "h100-sxm5"),
    ("NVIDIA H800", "h800-sxm5"),
    ("NVIDIA A100-SXM4-80GB", "a100-sxm4-80g"),
    ("NVIDIA H100 PCIe", ""),
    ("NVIDIA GH200 480GB", ""),
    ("NVIDIA H200 NVL", ""),
    ("NVIDIA H800 PCIe", ""),
    ("NVIDIA GeForce RTX 4090", ""),
])
def test_the_gpu_nvidia_smi_names_picks_its_preset(tmp_path, name, preset):
    r = run_lib(tmp_path, name, "gpu_preset")
    assert r.returncode == 0
    assert r.stdout.strip() == preset


def test_a_gpu_without_a_preset_needs_one_named(tmp_path):
    r = run_lib(tmp_path, "NVIDIA H100 PCIe", 'HW=$(gpu_hw "") || exit 2; echo "$HW"')
    assert r.returncode == 2
    assert "no llmgps preset for GPU 'NVIDIA H100 PCIe'" in r.stderr
    r = run_lib(tmp_path, "NVIDIA H100 PCIe", 'HW=$(gpu_hw h100-sxm5) || exit 2; echo "$HW"')
    assert (r.returncode, r.stdout.strip()) == (0, "h100-sxm5")


def test_a_carried_kit_is_used_and_a_missing_tool_is_named(tmp_path):
    # A kit without the tool falls back to building on the machine (which fails in this folder).
    r = run_lib(tmp_path, "NVIDIA H200", 'echo "$BUILD"')
    assert r.stdout.strip() == "build-gpu"  # no kit: build on the machine
    (tmp_path / "gpu-kit/cuda").mkdir(parents=True)
    (tmp_path / "gpu-kit/KIT").write_text("sources 0123\ncommit test\n")
    r = run_lib(tmp_path, "NVIDIA H200",
                'echo "$BUILD"; gpu_build log llmgps_gpu_bench; echo TARGETS-READY')
    assert r.stdout.splitlines()[0] == "gpu-kit"
    assert r.returncode == 2
    assert "gpu-kit was built from another tree" in r.stdout  # its sources hash differs
    assert "the kit has no llmgps_gpu_bench" in r.stdout
    assert "building on this machine instead of the kit" in r.stdout  # and that fails here
    assert "TARGETS-READY" not in r.stdout
