"""Load test: many concurrent clients, a realistic mix, then proof that nothing was lost or duplicated.

    python bench/load.py [--seconds 30] [--clients 32] [--users 20] [--workers 2]
                         [--worker-class gevent|gthread] [--threads 8]

Starts `memory-api serve` on the embedded default (a fresh data directory) and
drives it for a fixed time with keep-alive HTTP clients, each acting as one of
`--users` users: create 30%, list a page 20%, get 20%, update 15%, delete 10%,
context 5%. Every client remembers which creates and deletes the service
acknowledged. At the end it verifies, through the API, that every acknowledged
create is present (unless acknowledged deleted), that every acknowledged delete
is gone, and that paging returns no memory twice; then runs `memory-api check`
(records and indexes agree). It prints throughput, latency percentiles per
operation and error counts, and exits 1 if any verification fails.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.common import free_port, sample_content, wait_for_http  # noqa: E402

MIX = (("create", 30), ("list", 20), ("get", 20), ("update", 15), ("delete", 10), ("context", 5))


class Client(threading.Thread):
    def __init__(self, host: str, port: int, key: str, user: str, seed: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.host, self.port, self.key, self.user = host, port, key, user
        self.rnd = random.Random(seed)
        self.stop_event = stop
        self.latencies: dict[str, list[float]] = collections.defaultdict(list)
        self.statuses: collections.Counter = collections.Counter()
        self.created: set[str] = set()
        self.deleted: set[str] = set()
        self.live: list[str] = []
        self.conn = http.client.HTTPConnection(host, port, timeout=30)

    def call(self, op: str, method: str, path: str, body: dict | None = None):
        data = json.dumps(body) if body is not None else None
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers={
                "Authorization": f"Bearer {self.key}", "Content-Type": "application/json"})
            resp = self.conn.getresponse()
            payload = json.loads(resp.read() or b"null")
        except (OSError, http.client.HTTPException, ValueError):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            self.statuses[(op, "connection error")] += 1
            return None, None
        self.latencies[op].append(time.perf_counter() - started)
        self.statuses[(op, resp.status)] += 1
        return resp.status, payload

    def run(self) -> None:
        ops, weights = zip(*MIX)
        while not self.stop_event.is_set():
            op = self.rnd.choices(ops, weights)[0]
            if op in ("get", "update", "delete") and not self.live:
                op = "create"
            if op == "create":
                status, body = self.call(op, "POST", "/v1/memory", {"content": sample_content(self.rnd)})
                if status == 200:
                    self.created.add(body["id"])
                    self.live.append(body["id"])
            elif op == "list":
                self.call(op, "GET", "/v1/memory?limit=20")
            elif op == "get":
                self.call(op, "GET", f"/v1/memory/{self.rnd.choice(self.live)}")
            elif op == "update":
                self.call(op, "PATCH", f"/v1/memory/{self.rnd.choice(self.live)}",
                          {"content": sample_content(self.rnd)})
            elif op == "delete":
                victim = self.live.pop(self.rnd.randrange(len(self.live)))
                status, _ = self.call(op, "DELETE", f"/v1/memory/{victim}")
                if status == 200:
                    self.deleted.add(victim)
            else:
                self.call(op, "POST", "/v1/memory/context", {"max_words": 300})
        self.conn.close()


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


def all_ids(host: str, port: int, key: str) -> tuple[list[str], int]:
    """Every memory id of the key's user, by paging; (ids in page order, pages)."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    ids, after, pages = [], None, 0
    while True:
        conn.request("GET", "/v1/memory?limit=100" + (f"&after={after}" if after else ""),
                     headers={"Authorization": f"Bearer {key}"})
        page = json.loads(conn.getresponse().read())
        pages += 1
        ids += [m["id"] for m in page["data"]]
        if not page["has_more"]:
            conn.close()
            return ids, pages
        after = page["last_id"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", choices=("gevent", "gthread"), default="gevent",
                        help="serve's worker model (its default: gevent)")
    parser.add_argument("--threads", type=int, default=8, help="gthread: threads per worker")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="memory-api-load-")
    env = {k: v for k, v in os.environ.items() if not (k.startswith("MEMORY_API_") or k == "REDIS_URL")}
    env.update(MEMORY_API_DATA_DIR=data_dir, MEMORY_API_LOG_LEVEL="WARNING")
    port = free_port()
    log = open(os.path.join(data_dir, "serve.log"), "wb")
    server = subprocess.Popen([sys.executable, "-m", "memory_api.cli", "serve", "--port", str(port),
                               "--workers", str(args.workers), "--worker-class", args.worker_class,
                               "--threads", str(args.threads)],
                              cwd=ROOT, env=env, stdout=log, stderr=log)
    failures: list[str] = []
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz")
        cli = [sys.executable, "-m", "memory_api.cli"]
        keys = {}
        for i in range(args.users):
            out = subprocess.run([*cli, "keys", "create", f"user{i}"], cwd=ROOT, env=env, capture_output=True,
                                 text=True, check=True)
            keys[f"user{i}"] = out.stdout.strip()

        stop = threading.Event()
        users = list(keys)
        clients = [Client("127.0.0.1", port, keys[users[i % len(users)]], users[i % len(users)], i, stop)
                   for i in range(args.clients)]
        started = time.monotonic()
        for c in clients:
            c.start()
        time.sleep(args.seconds)
        stop.set()
        for c in clients:
            c.join()
        elapsed = time.monotonic() - started

        latencies: dict[str, list[float]] = collections.defaultdict(list)
        statuses: collections.Counter = collections.Counter()
        for c in clients:
            for op, values in c.latencies.items():
                latencies[op] += values
            statuses.update(c.statuses)
        total = sum(statuses.values())
        print(f"memory-api load: {args.clients} clients, {args.users} users, {args.seconds:.0f}s, "
              f"gunicorn {args.workers} workers x "
              f"{'gevent' if args.worker_class == 'gevent' else f'{args.threads} threads'}, embedded Redis, "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
        print(f"{total} requests in {elapsed:.1f}s: {total / elapsed:.0f} req/s")
        print(f"{'operation':<10} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        for op, _ in MIX:
            values = latencies[op]
            print(f"{op:<10} {len(values):>7} {pct(values, 50):>8.1f} {pct(values, 95):>8.1f} {pct(values, 99):>8.1f}")
        errors = {k: v for k, v in statuses.items() if k[1] != 200}
        print("non-200 answers:", dict(sorted(errors.items(), key=str)) or "none")

        created = deleted = present = 0
        for user, key in keys.items():
            mine = [c for c in clients if c.user == user]
            acked_created = set().union(*(c.created for c in mine))
            acked_deleted = set().union(*(c.deleted for c in mine))
            ids, _ = all_ids("127.0.0.1", port, key)
            stored = set(ids)
            created, deleted, present = created + len(acked_created), deleted + len(acked_deleted), present + len(stored)
            if len(ids) != len(stored):
                failures.append(f"{user}: paging returned {len(ids) - len(stored)} memories twice")
            lost = (acked_created - acked_deleted) - stored
            if lost:
                failures.append(f"{user}: {len(lost)} acknowledged creates are missing")
            back = acked_deleted & stored
            if back:
                failures.append(f"{user}: {len(back)} acknowledged deletes are still there")
            extra = stored - acked_created
            unanswered = sum(c.statuses[("create", "connection error")] for c in mine)
            if len(extra) > unanswered:  # a create whose answer was lost may have happened
                failures.append(f"{user}: {len(extra)} memories nobody created")
        check = subprocess.run([*cli, "check"], cwd=ROOT, env=env, capture_output=True, text=True)
        print(f"verified: {created} acknowledged creates, {deleted} acknowledged deletes, {present} memories "
              f"stored; every create present, every delete gone, no duplicates: "
              f"{'yes' if not failures else 'NO'}")
        print(f"memory-api check: {check.stdout.strip().splitlines()[-1] if check.stdout else check.stderr}")
        if check.returncode != 0:
            failures.append("memory-api check found disagreements")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    for failure in failures:
        print("FAILED:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
