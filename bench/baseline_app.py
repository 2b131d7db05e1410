"""The baselines our endpoints are compared with, served by the same gunicorn settings.

  GET  /small         a small JSON object, nothing else
  GET  /redis-read    one Redis read (GET of a small value), returned as JSON
  POST /redis-script  parse a small JSON body, run one small Lua script (HSET + ZADD)
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import redis  # noqa: E402
from flask import Flask, jsonify, request  # noqa: E402

from memory_api.config import Settings  # noqa: E402
from memory_api.cli.serve import GunicornServer, gunicorn_options  # noqa: E402

SCRIPT = "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]); redis.call('ZADD', KEYS[2], 0, ARGV[1]); return 1"


def make_app(redis_url: str) -> Flask:
    app = Flask(__name__)
    client = redis.Redis.from_url(redis_url)
    script = client.register_script(SCRIPT)
    client.set("baseline:value", '{"content":"a small stored value","n":1}')

    @app.get("/small")
    def small():
        return jsonify({"object": "ok", "value": 1})

    @app.get("/redis-read")
    def redis_read():
        return jsonify({"object": "ok", "value": client.get("baseline:value").decode()})

    @app.post("/redis-script")
    def redis_script():
        body = request.get_json()
        script(keys=["baseline:{h}:items", "baseline:{h}:ids"], args=[body["id"], body["content"]])
        return jsonify({"object": "ok"})

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    settings = Settings(port=args.port, workers=args.workers, threads=args.threads, log_level="WARNING")
    GunicornServer(lambda: make_app(args.redis_url), gunicorn_options(settings)).run()


if __name__ == "__main__":
    main()
