"""HTTP benchmark: our endpoints under gunicorn, against bare-Flask baselines, driven by wrk.

    python bench/http_bench.py [--duration 10] [--connections 16] [--workers 2] [--threads 4]

One run starts a private redis-server, our service (`memory-api serve`, twice:
with the default access log, and with MEMORY_API_ACCESS_LOG=false) and the
baseline app (bench/baseline_app.py) under identical gunicorn settings, then
drives each endpoint with wrk (a C load generator, one thread) for a fixed
time and prints, per endpoint: throughput, p50/p99 latency, errors, Redis round
trips per request (INFO stats total_reads_processed delta: one read event per
round trip, whatever a script does inside) and the Redis commands executed per
request (INFO commandstats deltas, script-internal ones included). Then the
list latency for a user with 100 versus 100,000 memories. Requires `wrk`
(Debian: apt-get install wrk).

One gunicorn worker (4 threads) by default: on a 2-core machine wrk and Redis
need the other core, and with two workers the kernel's split of wrk's
keep-alive connections between them varied from run to run (one worker could
get most of them), which made throughput bimodal. With one worker the Python
work per request is the bottleneck, for the baselines and for us alike, which
is what the ratios are about.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.common import PrivateRedis, free_port, sample_content  # noqa: E402
from memory_api.config import Settings  # noqa: E402
from memory_api.ids import new_memory_id  # noqa: E402
from memory_api.models import Memory  # noqa: E402
from memory_api.services import Services  # noqa: E402
from memory_api.store.memories import MemoryStore  # noqa: E402
from memory_api.tokens import count_tokens, count_words  # noqa: E402

WRK_DONE = r"""
done = function(summary, latency, requests)
  io.write(string.format('WRK {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk_script(method: str, path: str, *, key: str | None, body: str | None = None, ids_file: str | None = None,
               unique_content: str | None = None) -> str:
    """A wrk Lua script. `unique_content`: POST {"content": <it> + a counter}, a new memory each time
    (the same content would be a duplicate, which stores nothing)."""
    headers = "wrk.headers['Content-Type'] = 'application/json'\n"
    if key:
        headers += f"wrk.headers['Authorization'] = 'Bearer {key}'\n"
    body_lua = "nil" if body is None else json.dumps(body)
    if unique_content is not None:
        prefix = json.dumps(json.dumps({"content": unique_content})[:-2])  # '{"content": "...' without '"}'
        request = f"""
local n = 0
local salt = tostring(os.time())  -- a new wrk run is seconds after the last: new contents
request = function()
  n = n + 1
  return wrk.format({json.dumps(method)}, {json.dumps(path)}, nil, {prefix} .. ' ' .. salt .. '-' .. n .. '"}}')
end
"""
        return headers + request + WRK_DONE
    if ids_file:
        request = f"""
local ids = {{}}
for line in io.lines({json.dumps(ids_file)}) do ids[#ids + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format({json.dumps(method)}, {json.dumps(path)} .. ids[((i - 1) % #ids) + 1], nil, {body_lua})
end
"""
    else:
        request = f"""
request = function()
  return wrk.format({json.dumps(method)}, {json.dumps(path)}, nil, {body_lua})
end
"""
    return headers + request + WRK_DONE


class Bench:
    def __init__(self, args) -> None:
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="memory-api-bench-")
        self.redis = PrivateRedis()
        self.procs: list[subprocess.Popen] = []

    def start(self, argv: list[str], env: dict, port: int, probe: str) -> str:
        log = open(os.path.join(self.tmp, f"server-{port}.log"), "wb")
        self.procs.append(subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=log))
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(url + probe, timeout=2)
                return url
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"server on {port} did not start; see {log.name}")

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(30)
        self.redis.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_script(self, name: str, script: str) -> str:
        path = os.path.join(self.tmp, f"{name.replace('/', '_').replace(' ', '_')}.lua")
        with open(path, "w") as fh:
            fh.write(script)
        return path

    def _wrk(self, path: str, url: str, seconds: int) -> str:
        return subprocess.run(
            ["wrk", "-t1", f"-c{self.args.connections}", f"-d{seconds}s", "-s", path, url],
            capture_output=True, text=True, check=True,
        ).stdout

    def measured_run(self, name: str, path: str, url: str) -> dict:
        client = self.redis.client
        reads_before = int(client.info("stats")["total_reads_processed"])
        cmds_before = client.info("commandstats")
        out = self._wrk(path, url, self.args.duration)
        reads_after = int(client.info("stats")["total_reads_processed"])
        cmds_after = client.info("commandstats")
        result = json.loads(out.split("WRK ", 1)[1])
        n = max(result["requests"], 1)
        result["name"] = name
        result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
        # Two INFO calls of our own are in the delta: leave them out.
        result["round_trips"] = (reads_after - reads_before - 2) / n
        result["commands"] = {
            k.removeprefix("cmdstat_"): round((v["calls"] - cmds_before.get(k, {"calls": 0})["calls"]) / n, 2)
            for k, v in cmds_after.items()
            if k != "cmdstat_info" and v["calls"] != cmds_before.get(k, {"calls": 0})["calls"]
        }
        return result


def bulk_create(services: Services, user: str, count: int, rnd: random.Random) -> list[str]:
    """Store `count` memories fast (the real create script, 500 at a time), as the service would."""
    store = MemoryStore(services.redis)
    ids = []
    now = int(time.time())
    for start in range(0, count, 500):
        batch = []
        for _ in range(min(500, count - start)):
            text = sample_content(rnd) + f" #{start}-{len(batch)}"  # distinct: no duplicates
            memory = Memory(new_memory_id(), text, {}, now, count_words(text), count_tokens(text), 1)
            batch.append(memory)
            ids.append(memory.id)
        store.create_many(user, batch, refuse_duplicates=False)
    return ids


def fmt(result: dict) -> str:
    return (
        f"{result['name']:<22} {result['rps']:8.0f} req/s  p50 {result['p50_us'] / 1000:6.2f} ms  "
        f"p99 {result['p99_us'] / 1000:6.2f} ms  errors {result['errors'] + result['socket_errors']:<4} "
        f"round trips/req {result['round_trips']:.2f}  commands/req {result['commands']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per timed run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of untimed load per endpoint, first round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds over all endpoints; medians are reported")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--log-level", default="INFO", help="the service's MEMORY_API_LOG_LEVEL (INFO logs each request)")
    parser.add_argument("--large", type=int, default=100_000, help="memories of the large user for list scaling")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")

    bench = Bench(args)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_API_")}
        env.update(REDIS_URL=bench.redis.url, MEMORY_API_LOG_LEVEL=args.log_level)
        base_port, our_port, quiet_port = free_port(), free_port(), free_port()
        base = bench.start(
            [sys.executable, "bench/baseline_app.py", "--port", str(base_port), "--redis-url", bench.redis.url,
             "--workers", str(args.workers), "--threads", str(args.threads)], env, base_port, "/small")
        ours = bench.start(
            [sys.executable, "-m", "memory_api.cli", "serve", "--port", str(our_port),
             "--workers", str(args.workers), "--threads", str(args.threads)], env, our_port, "/healthz")
        quiet = bench.start(
            [sys.executable, "-m", "memory_api.cli", "serve", "--port", str(quiet_port),
             "--workers", str(args.workers), "--threads", str(args.threads)],
            {**env, "MEMORY_API_ACCESS_LOG": "false"}, quiet_port, "/healthz")

        services = Services.build(Settings(redis_url=bench.redis.url))
        key, _ = services.keys.create(user="bench")
        small_key, _ = services.keys.create(user="small")
        large_key, _ = services.keys.create(user="large")
        rnd = random.Random(1)
        ids_path = os.path.join(bench.tmp, "ids.txt")
        with open(ids_path, "w") as fh:
            fh.write("\n".join(bulk_create(services, "bench", 1000, rnd)))
        bulk_create(services, "small", 100, rnd)
        bulk_create(services, "large", args.large, rnd)
        content = sample_content(rnd, 30, 30)

        def delete_script(seconds: int) -> str:
            # Each run deletes memories no earlier run touched (wrk restarts its counter per run).
            path = os.path.join(bench.tmp, "delete-ids.txt")
            with open(path, "w") as fh:
                fh.write("\n".join(bulk_create(services, "bench", 6000 * seconds, rnd)))
            return wrk_script("DELETE", "/v1/memory/", key=key, ids_file=path)

        large_name = f"list, {args.large} memories"
        scenarios = {
            "baseline: small JSON": (base, lambda s: wrk_script("GET", "/small", key=None)),
            "baseline: Redis read": (base, lambda s: wrk_script("GET", "/redis-read", key=None)),
            "baseline: Lua script": (base, lambda s: wrk_script(
                "POST", "/redis-script", key=None, body=json.dumps({"id": "x", "content": "a small value"}))),
            "create": (ours, lambda s: wrk_script("POST", "/v1/memory", key=key, unique_content=content)),
            "get": (ours, lambda s: wrk_script("GET", "/v1/memory/", key=key, ids_file=ids_path)),
            "create, no access log": (quiet, lambda s: wrk_script("POST", "/v1/memory", key=key,
                                                                  unique_content=content)),
            "get, no access log": (quiet, lambda s: wrk_script("GET", "/v1/memory/", key=key, ids_file=ids_path)),
            "list (limit 20)": (ours, lambda s: wrk_script("GET", "/v1/memory?limit=20", key=key)),
            "update (PATCH)": (ours, lambda s: wrk_script(
                "PATCH", "/v1/memory/", key=key, body=json.dumps({"content": "an updated memory text"}),
                ids_file=ids_path)),
            "delete": (ours, delete_script),
            "list, 100 memories": (ours, lambda s: wrk_script("GET", "/v1/memory?limit=20", key=small_key)),
            large_name: (ours, lambda s: wrk_script("GET", "/v1/memory?limit=20", key=large_key)),
        }
        # Rounds: every scenario once per round, so a slow spell on a shared machine
        # hits all of them alike instead of one; the median of the rounds is reported.
        runs: dict[str, list[dict]] = {name: [] for name in scenarios}
        for round_no in range(args.repeat):
            for name, (url, make_script) in scenarios.items():
                if round_no == 0:
                    bench._wrk(bench.write_script(name, make_script(args.warmup)), url, args.warmup)
                path = bench.write_script(name, make_script(args.duration))
                runs[name].append(bench.measured_run(name, path, url))
        results = {name: sorted(r, key=lambda x: x["rps"])[len(r) // 2] for name, r in runs.items()}
        services.close()

        print(f"memory-api HTTP benchmark: {args.workers} gunicorn worker(s) x {args.threads} threads (gthread), "
              f"wrk -t1 -c{args.connections} -d{args.duration}s (median of {args.repeat} rounds, {args.warmup}s warm-up), "
              f"redis {bench.redis.version()}, "
              f"MEMORY_API_LOG_LEVEL={args.log_level}, {os.cpu_count()} CPUs")
        for result in results.values():
            print(fmt(result))
        small, read, script = (results[k]["rps"] for k in
                               ("baseline: small JSON", "baseline: Redis read", "baseline: Lua script"))
        print("\nthroughput as a ratio to the baselines (1.00 = as fast as the baseline):")
        for name, baseline, label in (
            ("get", read, "Redis read"), ("get, no access log", read, "Redis read"),
            ("list (limit 20)", read, "Redis read"),
            ("create", script, "Lua script"), ("create, no access log", script, "Lua script"),
            ("update (PATCH)", script, "Lua script"),
            ("delete", script, "Lua script"),
        ):
            ours_rps = results[name]["rps"]
            print(f"  {name:<22} {ours_rps / baseline:5.2f} of the one-{label} baseline, "
                  f"{ours_rps / small:5.2f} of the small-JSON baseline")
        p50_small = results["list, 100 memories"]["p50_us"]
        p50_large = results[large_name]["p50_us"]
        print(f"\nlist p50 latency, {args.large} vs 100 memories: {p50_large / p50_small:.2f}x")
        os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
        with open(os.path.join(ROOT, "bench", "results", "http_bench.json"), "w") as fh:
            json.dump(list(results.values()), fh, indent=1)
    finally:
        bench.stop()


if __name__ == "__main__":
    main()
