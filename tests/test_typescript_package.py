"""The TypeScript client, clients/typescript (memory-api-client), builds and works against the live service.

From a copy of the package (so the checkout gets no node_modules or dist): `npm ci` from its committed
package-lock.json (cached per lockfile, as npm_install caches), `npm run build` (openapi-typescript generates
src/schema.ts from openapi.yaml, tsc --strict emits dist/ with declarations), `npm pack --dry-run` (what a
publish would ship), then tests/typescript/package_check.ts, a user's program importing "memory-api-client",
is type-checked against the built declarations (strict; with the README's and docs/clients.md's examples)
and run with node against a live server as two users:
create, list in pages and with `for await`, update with If-Match and a stale one's 412, search, context,
delete, a 404 and a 409 as MemoryAPIError, and a space Alice shares with Bob. Without node and npm, or when
the install fails, the test cannot run (helpers.cannot_run: a skip, or a failure under
MEMORY_API_TEST_REQUIRE_ALL=1).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from helpers import REPO, cannot_run

PACKAGE = REPO / "clients" / "typescript"
LOCK_FILES = ("package.json", "package-lock.json")
TSCONFIG = {
    "compilerOptions": {
        "target": "es2022", "module": "nodenext", "moduleResolution": "nodenext", "lib": ["es2022", "dom"],
        "strict": True, "noUncheckedIndexedAccess": True, "outDir": "out",
    },
    "files": ["package_check.ts", "readme_example.ts", "docs_example.ts"],
}
# The examples users read, type-checked (not run) with the check: clients/typescript/README.md's and
# docs/clients.md's first ```ts block that imports the package.
EXAMPLES = {"readme_example.ts": PACKAGE / "README.md", "docs_example.ts": REPO / "docs" / "clients.md"}


def example(path: Path) -> str:
    found = re.search(r"```ts\n(import [^\n]* from \"memory-api-client\";\n.*?)```", path.read_text(), re.S)
    assert found, f"{path.relative_to(REPO)}: no ```ts example importing memory-api-client"
    return found.group(1) + "\nexport {};\n"


def run(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)} (in {cwd}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def npm_ci_cached() -> Path:
    """`npm ci` of the package's lockfile, once per version of package.json and package-lock.json, in
    ~/.cache/memory-api-tests/npm-ci/<digest>; its node_modules. Installed in a private directory and renamed
    into place, so a parallel run never sees half an install."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        cannot_run(f"SKIPPED: {' and '.join(missing)} not installed (apt-get install nodejs npm; "
                   ".ci/run does it as root)")
    digest = hashlib.sha256(b"".join((PACKAGE / name).read_bytes() for name in LOCK_FILES)).hexdigest()[:16]
    cache_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "memory-api-tests" / "npm-ci"
    installed = cache_root / digest
    if not (installed / "node_modules" / ".bin" / "tsc").exists():
        staging = cache_root / f"{digest}.{os.getpid()}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for name in LOCK_FILES:
            shutil.copy(PACKAGE / name, staging)
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                              cwd=staging, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            cannot_run(f"SKIPPED: npm ci in clients/typescript failed: {done.stderr.strip()[-600:]}")
        try:
            staging.rename(installed)
        except OSError:  # another run finished first: use its install
            shutil.rmtree(staging, ignore_errors=True)
    return installed / "node_modules"


def package_copy(root: Path, node_modules: Path) -> Path:
    """clients/typescript and the spec, copied under `root` as they sit in the repository (the build reads
    ../../openapi.yaml), without build output; the cached node_modules linked in."""
    shutil.copy(REPO / "openapi.yaml", root / "openapi.yaml")
    package = root / "clients" / "typescript"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("node_modules", "dist", "schema.ts"))
    (package / "node_modules").symlink_to(node_modules, target_is_directory=True)
    return package


def test_the_typescript_package_builds_and_works_against_the_service(tmp_path, live_server, make_key):
    package = package_copy(tmp_path, npm_ci_cached())
    run(["npm", "run", "build", "--silent"], package)

    # What a publish would ship: the built module and its declarations, the README; no tests, no node_modules.
    packed = json.loads(run(["npm", "pack", "--dry-run", "--json", "--ignore-scripts"], package))[0]
    shipped = {entry["path"] for entry in packed["files"]}
    assert packed["name"] == "memory-api-client"
    assert {"dist/index.js", "dist/index.d.ts", "dist/client.js", "dist/schema.d.ts", "README.md",
            "package.json"} <= shipped
    assert not any(path.startswith("node_modules/") for path in shipped)
    manifest = json.loads((package / "package.json").read_text())
    assert manifest["type"] == "module" and manifest["exports"]["."]["types"] == "./dist/index.d.ts"

    # A user's program: it imports the package by name and is type-checked against the built declarations.
    check = tmp_path / "check"
    (check / "node_modules").mkdir(parents=True)
    (check / "node_modules" / "memory-api-client").symlink_to(package, target_is_directory=True)
    (check / "package.json").write_text('{"private": true, "type": "module"}\n')
    shutil.copy(REPO / "tests" / "typescript" / "package_check.ts", check)
    (check / "config.ts").write_text(
        f"export const API_URL = {json.dumps(live_server.url)};\n"
        f"export const ALICE_KEY = {json.dumps(make_key('alice'))};\n"
        f"export const BOB_KEY = {json.dumps(make_key('bob'))};\n")
    for name, source in EXAMPLES.items():
        (check / name).write_text(example(source))
    (check / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    run([str(package / "node_modules" / ".bin" / "tsc"), "-p", "."], check)  # a type error fails here
    seen = json.loads(run(["node", "out/package_check.js"], check))

    created = seen["created"]
    assert len(created) == 3 and seen["source"] == "api"
    assert all(etag and etag.startswith('"') for etag in seen["etags"])
    # Two pages of two and one, oldest first; `for await` walks them all.
    assert seen["pages"] == [created[:2], created[2:]] and seen["secondHasMore"] is False
    assert seen["pageCount"] == 2 and seen["walked"] == created

    assert seen["updated"]["content"] == "Alice's favourite tea is hojicha."
    assert seen["updated"]["etag"] != seen["updated"]["before"]
    assert seen["stale"]["status"] == 412 and seen["stale"]["code"] == "precondition_failed"
    assert seen["found"] and seen["found"][0]["id"] == created[1] and seen["found"][0]["score"] > 0
    assert "hojicha" in seen["context"]["text"] and created[1] in seen["context"]["ids"]

    assert seen["deleted"] is True
    missing = seen["missing"]
    assert missing["status"] == 404 and missing["type"] == "not_found_error" and missing["isError"] is True
    assert missing["code"] == "memory_not_found" and missing["param"] == "memory_id"
    assert set(missing["error"]) >= {"message", "type", "param", "code"}
    assert missing["code"] in missing["message"] and "404" in missing["message"]
    assert seen["duplicate"]["status"] == 409 and seen["duplicate"]["code"] == "duplicate_memory"
    assert seen["duplicate"]["error"]["existing_id"] == created[0]

    space = seen["space"]
    assert space["id"].startswith("space_") and space["role"] == "admin" and space["name"] == "Home"
    assert seen["bobsSpaces"] == [{"id": space["id"], "role": "writer"}]
    assert seen["shared"]["author"] == "bob" and seen["shared"]["space"] == space["id"]
    assert seen["inSpace"] == [{"id": seen["shared"]["id"], "author": "bob"}]
    assert seen["members"] == ["alice:admin", "bob:writer"]
    assert seen["bobCannotDelete"]["status"] == 403
    assert seen["bobAfter"]["status"] == 404
    assert seen["spaceDeleted"] is True
