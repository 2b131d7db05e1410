"""`memory-api serve` in a terminal, as a person runs it: started in a pseudo-terminal, stopped with
Ctrl-C (the terminal sends SIGINT to the whole foreground process group: gunicorn, its workers and the
capture worker at once)."""

from __future__ import annotations

import sys
import urllib.request

import pexpect

from helpers import REPO, free_port, subprocess_env, wait_until


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def test_ctrl_c_in_a_terminal_stops_serve_cleanly(tmp_path):
    port = free_port()
    child = pexpect.spawn(sys.executable, ["-m", "memory_api.cli", "serve", "--port", str(port), "--workers", "2"],
                          cwd=str(REPO), encoding="utf-8", timeout=90,
                          env=subprocess_env(MEMORY_API_DATA_DIR=str(tmp_path / "data"), MEMORY_API_CAPTURE_WORKERS="1",
                                             MEMORY_API_EMBEDDINGS="off"))
    try:
        wait_until(lambda: _healthy(port), timeout=90, what="serve to answer /healthz")
        child.sendcontrol("c")
        child.expect(pexpect.EOF, timeout=60)
    finally:
        child.close(force=True)
    output = child.before or ""
    assert child.exitstatus == 0, (child.exitstatus, child.signalstatus, output[-2000:])
    assert "Traceback" not in output, output[-3000:]
    assert "restarting in" not in output, output[-3000:]  # the capture worker was not taken for crashed
