# The gateway's container image: `gateway serve` as a non-root user on port 8000.
#
#   docker build -t boltgate:0.1.0 .          (or: podman build / buildah bud)
#   docker run -p 8000:8000 -e GATEWAY_CORE_DATABASE_URL=... boltgate:0.1.0
#
# Every dependency installs from a wheel, so neither stage needs a compiler.
# PYTHON_IMAGE may name any Debian-based image with python3 (3.11+) and venv:
# deploy/container/build-offline.sh builds one with debootstrap where no
# container registry can be reached.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python3 -m venv /opt/boltgate
# The packages the image runs; tests, bench and docs stay out (.dockerignore too).
COPY pyproject.toml README.md ./
COPY adapters ./adapters
COPY gateway ./gateway
COPY resolvers ./resolvers
COPY schema ./schema
COPY simulators ./simulators
COPY plugins ./plugins
RUN /opt/boltgate/bin/pip install --no-cache-dir . \
    && /opt/boltgate/bin/pip uninstall --yes pip \
    && /opt/boltgate/bin/python -m compileall -q /opt/boltgate/lib

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="boltgate" \
      org.opencontainers.image.description="GraphQL integration gateway: one endpoint over an ERP core and its bolt-on services" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="LicenseRef-Proprietary" \
      org.opencontainers.image.vendor="boltgate"
RUN groupadd --system --gid 10001 boltgate \
    && useradd --system --uid 10001 --gid boltgate --home-dir /app --shell /usr/sbin/nologin boltgate \
    && mkdir -p /app \
    && chown boltgate:boltgate /app
COPY --from=build /opt/boltgate /opt/boltgate
# 0.0.0.0 inside the container only: outside, its port is whatever the runtime maps.
ENV PATH=/opt/boltgate/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GATEWAY_ENV=production \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_PORT=8000
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# The process serves HTTP; readiness (the core, draining) is the orchestrator's /readyz probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, sys, urllib.request; port = os.environ.get('GATEWAY_PORT', '8000'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status != 200)"]
# SIGTERM starts the drain (GATEWAY_SHUTDOWN_DRAIN_DELAY_SECONDS, then the grace period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["gateway"]
CMD ["serve"]
