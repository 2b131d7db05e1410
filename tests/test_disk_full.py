"""A full disk under the embedded Redis: 503 store_unavailable, no acknowledged write lost, an honest shutdown.

The data directory is a real, tiny tmpfs that the test fills to the last byte,
so Redis meets ENOSPC writing its append-only file exactly as on a full disk.
(Mounting needs root; elsewhere the test is skipped.)
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest

from helpers import auth
from memory_api import create_app
from memory_api.config import Settings


@pytest.fixture
def tiny_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", "--lazy", str(disk)], check=True)


@pytest.fixture
def embedded_log(caplog):
    """The embedded Redis's log records (the app's logging may not propagate to pytest's root handler)."""
    logger = logging.getLogger("memory_api.store.embedded")
    caplog.set_level(logging.INFO, logger=logger.name)
    logger.addHandler(caplog.handler)
    yield lambda: list({id(r): r for r in caplog.records}.values())  # once each, however it arrived
    logger.removeHandler(caplog.handler)


def fill(disk: Path) -> Path:
    """Take every free byte of `disk`; returns the file to delete to give them back."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (b"\0" * 65536, b"\0" * 4096, b"\0"):
            try:
                while True:
                    os.write(fd, chunk)
            except OSError as exc:
                assert exc.errno == 28, exc  # ENOSPC
    finally:
        os.close(fd)
    return filler


def on_disk(data_dir: Path) -> Settings:
    return Settings(data_dir=str(data_dir), embeddings="off", search_mode="keyword", log_level="CRITICAL")


def test_a_full_disk_answers_503_loses_no_acknowledged_write_and_says_so_at_shutdown(tiny_disk, embedded_log):
    data_dir = tiny_disk / "data"
    app = create_app(on_disk(data_dir))
    services = app.extensions["memory_api"]
    try:
        key, _ = services.keys.create(user="alice")
        client = app.test_client()
        first = client.post("/v1/memory", json={"content": "written before the disk filled"}, headers=auth(key))
        assert first.status_code == 200, first.json
        acknowledged = {first.json["id"]}

        filler = fill(tiny_disk)
        answers = []
        for i in range(8):
            resp = client.post("/v1/memory", json={"content": f"fact {i} " + "x" * 2000}, headers=auth(key))
            answers.append(resp.status_code)
            if resp.status_code == 200:
                acknowledged.add(resp.json["id"])
            else:
                assert resp.status_code == 503, resp.json
                assert resp.json["error"]["code"] == "store_unavailable", resp.json
        assert 503 in answers and 500 not in answers, answers
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json["error"]["code"] == "store_unavailable", health.json
        # Reads still work: what is in memory can be seen.
        assert client.get("/v1/memory", headers=auth(key)).status_code == 200

    finally:
        services.close()  # the last user: the embedded Redis shuts down, on the still-full disk
    stopped = [r for r in embedded_log() if "stopped" in r.getMessage()]
    assert len(stopped) == 1 and stopped[0].levelno == logging.ERROR, [r.getMessage() for r in stopped]
    assert "WITHOUT saving" in stopped[0].getMessage() and "data kept" not in stopped[0].getMessage()

    filler.unlink()
    app = create_app(on_disk(data_dir))
    services = app.extensions["memory_api"]
    try:
        client = app.test_client()
        assert client.get("/healthz").status_code == 200
        page = client.get("/v1/memory?limit=100", headers=auth(key))
        assert page.status_code == 200, page.json
        assert acknowledged <= {m["id"] for m in page.json["data"]}, "an acknowledged write was lost"
    finally:
        services.close()


def test_writes_come_back_when_the_disk_has_room_again(tiny_disk, embedded_log):
    data_dir = tiny_disk / "data"
    app = create_app(on_disk(data_dir))
    services = app.extensions["memory_api"]
    try:
        key, _ = services.keys.create(user="alice")
        client = app.test_client()
        filler = fill(tiny_disk)
        statuses = [client.post("/v1/memory", json={"content": f"fact {i} " + "x" * 2000},
                                headers=auth(key)).status_code for i in range(4)]
        assert 503 in statuses, statuses
        filler.unlink()
        # Redis retries its append-only file once a second: wait for it, not for a guessed time.
        from helpers import wait_until

        wait_until(lambda: client.get("/healthz").status_code == 200, what="Redis to write again")
        assert client.post("/v1/memory", json={"content": "after"}, headers=auth(key)).status_code == 200
    finally:
        services.close()
    assert any("data kept" in r.getMessage() for r in embedded_log())
    assert not [r for r in embedded_log() if r.levelno >= logging.ERROR]
