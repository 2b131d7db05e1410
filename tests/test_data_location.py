"""One data location for every command: the user data directory, wherever a command is run.

The embedded Redis once kept its data in `./.memory-api` of the working
directory, so a command run from elsewhere started a second, empty store.
These run the real CLI in subprocesses, from different directories, on the
session's temporary user data directory (conftest.py user_data_home).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import REPO, subprocess_env
from memory_api.cli import store_in_use
from memory_api.config import Settings

CLI = [sys.executable, "-m", "memory_api.cli"]


def run_in(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=60,
        env=subprocess_env(PYTHONPATH=str(REPO), MEMORY_API_LOG_LEVEL="WARNING", **env),
    )


def test_the_suite_never_uses_the_real_user_data_directory(user_data_home):
    assert Settings().data_dir == str(user_data_home / "memory-api")
    assert subprocess_env()["XDG_DATA_HOME"] == str(user_data_home)


def test_the_default_data_directory_does_not_depend_on_the_working_directory(tmp_path, monkeypatch,
                                                                             user_data_home):
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({}).data_dir == str(user_data_home / "memory-api")
    assert Settings.from_env({"MEMORY_API_DATA_DIR": str(tmp_path / "mine")}).data_dir == str(tmp_path / "mine")


def test_commands_run_from_different_directories_share_one_store(tmp_path, user_data_home):
    default = user_data_home / "memory-api"
    created = run_in(tmp_path / "one", "keys", "create", "alice")
    assert created.returncode == 0, created.stderr
    assert f"memory-api: embedded Redis, data in {default}\n" in created.stderr
    assert created.stdout.strip().startswith("sk-mem-"), "stdout is the key alone"

    added = run_in(tmp_path / "two", "memory", "add", "--user", "alice", "I like tea.")
    assert added.returncode == 0, added.stderr
    listed = run_in(tmp_path / "three", "keys", "list", "--json")
    assert listed.returncode == 0 and '"subject": "alice"' in listed.stdout, (listed.stdout, listed.stderr)
    found = run_in(tmp_path / "one", "memory", "list", "--user", "alice")
    assert "I like tea." in found.stdout, found.stderr
    assert not (tmp_path / "one" / ".memory-api").exists() and not (tmp_path / "two" / ".memory-api").exists()
    assert (default / "appendonlydir").is_dir()


def test_a_store_left_in_the_working_directory_by_an_older_version_is_pointed_out(tmp_path, user_data_home):
    old = tmp_path / "project" / ".memory-api"
    old.mkdir(parents=True)
    listed = run_in(tmp_path / "project", "keys", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"MEMORY_API_DATA_DIR={old}" in listed.stderr and "not used now" in listed.stderr
    # Named explicitly, it is used, and nothing is said about it.
    chosen = run_in(tmp_path / "project", "keys", "list", MEMORY_API_DATA_DIR=str(old))
    assert f"data in {old}\n" in chosen.stderr and "WARNING" not in chosen.stderr
    assert (old / "users.lock").exists()


def test_each_command_says_which_redis_it_uses_without_its_password(redis_server, redis_client, tmp_path):
    listed = run_in(tmp_path, "keys", "list", REDIS_URL=redis_server.url)
    assert listed.returncode == 0 and f"memory-api: Redis at {redis_server.url}\n" in listed.stderr
    assert not (Path(os.environ["XDG_DATA_HOME"]) / "memory-api" / "redis.sock").exists()
    hidden = store_in_use(Settings(redis_url="redis://app:s3cret@db.internal:6380/2"))
    assert hidden == "Redis at redis://app:***@db.internal:6380/2"
    assert store_in_use(Settings(redis_url="rediss://:s3cret@db:6380")) == "Redis at rediss://:***@db:6380"
