# memory-api's container image: `docker build -t memory-api .` (docs/container.md).
#
# Plain Dockerfile syntax only, so Docker's classic builder builds it as well as BuildKit does
# (scripts/check-container builds it with DOCKER_BUILDKIT=0). Two stages: the builder installs the
# dependencies into a venv and builds the package's wheel; the runtime stage copies that venv, installs the
# wheel into it, adds an unprivileged user and prepares, at build time, what a first start would otherwise
# make (the quantised embedding model, the token vocabularies).
# No secret is baked in: provider keys and REDIS_URL come from the environment when a container runs.

ARG PYTHON_IMAGE=python:3.12-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python3 -m venv /opt/memory-api/venv
WORKDIR /src
# The dependencies first, read from pyproject.toml alone: a change to the code reuses this (slow) layer.
COPY pyproject.toml ./
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && /opt/memory-api/venv/bin/pip install -r /tmp/requirements.txt
COPY README.md LICENSE setup.py ./
COPY memory_api ./memory_api
# The Python client's source, which setup.py builds into the server as memory_api.client.
COPY clients/python/src ./clients/python/src
# The package itself as a wheel, installed in the runtime stage: the venv copied from here then holds only the
# dependencies, so after a change to the code that (large) copy is still a cached layer.
RUN /opt/memory-api/venv/bin/pip wheel --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
# A fixed uid/gid, so a bind-mounted data directory can be given to it (chown 10001:10001).
RUN groupadd --system --gid 10001 memory-api \
    && useradd --system --uid 10001 --gid memory-api --home-dir /home/memory-api --create-home \
        --shell /usr/sbin/nologin memory-api \
    && mkdir -p /data \
    && chown memory-api:memory-api /data \
    && chmod 0700 /data
COPY --from=builder /opt/memory-api/venv /opt/memory-api/venv
COPY --from=builder /wheels /tmp/wheels
RUN /opt/memory-api/venv/bin/pip install --no-deps --no-index --no-cache-dir --disable-pip-version-check \
        /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels \
    && /opt/memory-api/venv/bin/memory-api --version
# For `gunicorn -c gunicorn.conf.py wsgi:app` (the working directory); `memory-api serve` needs neither.
COPY gunicorn.conf.py wsgi.py /opt/memory-api/
WORKDIR /opt/memory-api
ENV PATH=/opt/memory-api/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TIKTOKEN_CACHE_DIR=/home/memory-api/.cache/tiktoken \
    MEMORY_API_HOST=0.0.0.0 \
    MEMORY_API_PORT=8000 \
    MEMORY_API_DATA_DIR=/data
USER memory-api:memory-api
# Made now, as the user who runs the service, in its cache directory: the int8-quantised copy of the shipped
# embedding model (embeddings/quantize.py builds it on first use, ~3 s and 58 MB, and keeps it in
# ~/.cache/memory-api/models) and the tiktoken vocabularies (tokens.py). A container then starts with both
# in place, and nothing is downloaded at run time.
# (onnxruntime also leaves a random telemetry device id in ~/.cache/Microsoft: removed, not shared by every
# container of the image.)
RUN python3 -c "from memory_api.config import Settings; from memory_api.embeddings import build_embedder; \
from memory_api.tokens import get_encoding; get_encoding('o200k_base'); get_encoding('cl100k_base'); \
embedder = build_embedder(Settings.from_env(dotenv=False)); embedder.warm_up(); print('prepared', embedder.model)" \
    && rm -rf /home/memory-api/.cache/Microsoft
# The embedded Redis's data (append-only file) when REDIS_URL is unset.
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, sys, urllib.request; port = os.environ.get('MEMORY_API_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]
# gunicorn with gevent workers, and a capture worker beside it; the embedded Redis 8 unless REDIS_URL is set.
CMD ["memory-api", "serve"]
