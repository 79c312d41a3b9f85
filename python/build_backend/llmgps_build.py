"""The PEP 517 build backend behind ``pip install .``: CMake builds the extension, this file
packs the wheel. It needs nothing beyond the standard library, so pip's isolated build
environment has nothing to download (these machines reach no package index); setuptools would
have to be fetched into that environment. pyproject.toml names it (backend-path).
"""

import base64
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _project():
    """(name, version, summary) from pyproject.toml's [project] table."""
    text = (ROOT / "pyproject.toml").read_text()
    try:
        import tomllib
        project = tomllib.loads(text)["project"]
        return project["name"], project["version"], project.get("description", "")
    except ImportError:  # Python < 3.11
        def field(key):
            return re.search(rf'^{key}\s*=\s*"([^"]*)"', text, re.M).group(1)
        return field("name"), field("version"), field("description")


def _tag():
    impl = f"cp{sys.version_info.major}{sys.version_info.minor}"
    abi = impl + getattr(sys, "abiflags", "")
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"{impl}-{abi}-{platform}"


def _build_extension():
    """Configures and builds the _llmgps target with this interpreter; returns the package dir."""
    build = ROOT / "build" / f"pip-{sys.implementation.cache_tag}"
    configure = ["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                 f"-DPython_EXECUTABLE={sys.executable}", "-DLLMGPS_TESTS=OFF",
                 "-DLLMGPS_BENCH=OFF", "-DLLMGPS_CUDA=OFF", "-DLLMGPS_PYTHON=ON"]
    if shutil.which("ninja") and not (build / "CMakeCache.txt").exists():
        configure += ["-G", "Ninja"]
    subprocess.run(configure, check=True)
    subprocess.run(["cmake", "--build", str(build), "--target", "_llmgps", "-j",
                    str(os.cpu_count() or 2)], check=True)
    package = build / "python" / "llmgps"
    if not list(package.glob("_llmgps*")):
        raise RuntimeError("CMake did not build the extension: are pybind11-dev and the Python "
                           "headers installed (scripts/setup)?")
    return package


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name, version, summary = _project()
    package = _build_extension()
    tag = _tag()
    wheel = pathlib.Path(wheel_directory) / f"{name}-{version}-{tag}.whl"
    info = f"{name}-{version}.dist-info"
    files = {}
    for path in sorted(package.iterdir()):
        if path.is_file() and (path.suffix in (".py", ".pyi", ".so") or path.name == "py.typed"):
            files[f"{name}/{path.name}"] = path.read_bytes()
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {summary}\n"
        "Requires-Python: >=3.8\nProvides-Extra: numpy\nRequires-Dist: numpy; extra == 'numpy'\n"
    ).encode()
    files[f"{info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: llmgps_build\nRoot-Is-Purelib: false\nTag: {tag}\n"
    ).encode()
    files[f"{info}/top_level.txt"] = f"{name}\n".encode()
    record = [_record_line(n, d) for n, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files.items():
            z.writestr(n, d)
    return wheel.name


def build_sdist(sdist_directory, config_settings=None):
    """The tracked files as name-version.tar.gz (git ls-files)."""
    import tarfile
    name, version, _ = _project()
    base = f"{name}-{version}"
    out = pathlib.Path(sdist_directory) / f"{base}.tar.gz"
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split()
    with tarfile.open(out, "w:gz") as t:
        for rel in listed:
            t.add(ROOT / rel, arcname=f"{base}/{rel}")
    return out.name
