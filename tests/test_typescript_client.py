"""A TypeScript client generated from openapi.yaml works against the live service.

openapi-typescript turns the spec into types, tsc type-checks tests/typescript/memory_client.ts against
them (strict), and node runs it with openapi-fetch: create, list with a cursor, update with If-Match,
a stale If-Match's 412 envelope, delete, and a 404 envelope. The npm packages are installed, pinned, into
a temporary directory; without node and npm the test is skipped, saying so.
"""

from __future__ import annotations

import json
import shutil
import subprocess

from helpers import REPO, npm_install

SPEC_PATH = REPO / "openapi.yaml"

# Pinned; all run on node 20.
PACKAGES = ("openapi-typescript@7.13.0", "openapi-fetch@0.17.0", "typescript@5.9.3")
TSCONFIG = {
    "compilerOptions": {
        "target": "es2022", "module": "nodenext", "moduleResolution": "nodenext", "lib": ["es2022", "dom"],
        "strict": True, "skipLibCheck": True, "outDir": "out",
    },
    "files": ["memory_client.ts"],
}


def run(command: list[str], cwd) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_a_typescript_client_generated_from_the_spec(tmp_path, live_server, make_key):
    work = tmp_path / "ts"
    bin_dir = npm_install(work, *PACKAGES)
    run([str(bin_dir / "openapi-typescript"), str(SPEC_PATH), "-o", "schema.d.ts"], work)
    shutil.copy(REPO / "tests" / "typescript" / "memory_client.ts", work)
    (work / "config.ts").write_text(
        f"export const API_URL = {json.dumps(live_server.url)};\n"
        f"export const API_KEY = {json.dumps(make_key('alice'))};\n")
    (work / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    run([str(bin_dir / "tsc"), "-p", "."], work)  # a type error fails here, naming the line
    seen = json.loads(run(["node", "out/memory_client.js"], work))

    assert len(seen["created"]) == 3 and seen["source"] == "api"
    assert seen["listed"] == seen["created"] and seen["pages"] == 2
    assert seen["etag"].startswith('"')
    assert seen["updated"]["status"] == 200
    assert seen["updated"]["content"] == "second, edited from TypeScript"
    assert seen["updated"]["etag"] != seen["etag"]
    assert seen["stale"]["status"] == 412 and seen["stale"]["error"]["code"] == "precondition_failed"
    assert seen["deleted"] is True
    assert seen["missing"]["status"] == 404
    assert seen["missing"]["error"]["type"] == "not_found_error"
    assert set(seen["missing"]["error"]) >= {"message", "type", "param", "code"}
