# syntax=docker/dockerfile:1.7
#
# One image for every role of Lighthouse:
#   docker run IMAGE            -> lighthouse run      (API, bots, scheduler, delivery)
#   docker run IMAGE worker     -> lighthouse worker   (scheduler and delivery only)
#   docker run IMAGE migrate    -> lighthouse migrate  (one-shot schema migrations)
#
# Build for the Graviton hosts of terraform/ as well as for x86 laptops:
#   docker buildx build --platform linux/arm64,linux/amd64 -t lighthouse:0.1.0 .
#
# Base images are pinned by exact tag; add "@sha256:<digest>" after the tag to pin
# the bytes too (docs/deploy.md, upgrades).
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# --------------------------------------------------------------------- builder
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# Compilers only for dependencies that ship no wheel for the target platform;
# they stay in this stage. Debian's own versions are what the pinned base resolves.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# Only what the wheel is built from (.dockerignore keeps the rest out of the context).
COPY pyproject.toml README.md ./
COPY lighthouse/ lighthouse/
COPY core/ core/
COPY api/ api/
COPY bot/ bot/
COPY sql/ sql/
COPY locales/ locales/

# 1. Compile the message catalogs (.po -> .mo; .mo files are build output, never committed).
# 2. Build the wheel.
# 3. Install it into a self-contained virtual environment, the only thing the runtime copies.
# 4. Compile the catalogs again where the package was installed, so the .mo files are
#    there whether or not the wheel's package-data lists them.
RUN --mount=type=cache,target=/root/.cache/pip \
    set -eu \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install "babel==2.18.0" \
    && for po in locales/*/LC_MESSAGES/*.po; do \
         [ -e "$po" ] || continue; \
         /opt/venv/bin/pybabel compile -i "$po" -o "${po%.po}.mo"; \
       done \
    && /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install /wheels/lighthouse_monitor-*.whl \
    && site="$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
    && for po in "$site"/lighthouse/locales/*/LC_MESSAGES/*.po; do \
         [ -e "$po" ] || continue; \
         /opt/venv/bin/pybabel compile -i "$po" -o "${po%.po}.mo"; \
       done \
    && /opt/venv/bin/lighthouse version

# --------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="lighthouse" \
      org.opencontainers.image.description="Lighthouse monitoring: API, chat bots, scheduler and alert delivery" \
      org.opencontainers.image.licenses="Apache-2.0"

# Inside a container DATABASE_URL and REDIS_URL are always set (compose, terraform);
# the data dir only holds what the service writes locally. The service listens on every
# interface here (its default is loopback, for a laptop): the port mapping decides.
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    API_HOST=0.0.0.0 \
    API_PORT=8080 \
    METRICS_PORT=9090 \
    LIGHTHOUSE_DATA_DIR=/var/lib/lighthouse

RUN groupadd --system --gid 10001 lighthouse \
    && useradd --system --uid 10001 --gid lighthouse --no-create-home \
       --home-dir /var/lib/lighthouse --shell /usr/sbin/nologin lighthouse \
    && install -d -o lighthouse -g lighthouse -m 0750 /var/lib/lighthouse

# The code belongs to root and is read-only for the service user.
COPY --from=builder --chown=root:root /opt/venv /opt/venv

WORKDIR /var/lib/lighthouse
USER 10001:10001

EXPOSE 8080 9090

# `lighthouse healthcheck` GETs http://127.0.0.1:$API_PORT/health: no curl needed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["lighthouse", "healthcheck"]

ENTRYPOINT ["lighthouse"]
CMD ["run"]
