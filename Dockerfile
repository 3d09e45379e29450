# CME Exchange service image: slim, non-root, with a health check.
# Run migrations as a release step: `docker run --rm IMAGE cme db upgrade` (`cme serve`
# refuses a database that is missing or not at the latest migration).
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api ./api
COPY schemas ./schemas
COPY services ./services
COPY migrations ./migrations
COPY cli ./cli
COPY console ./console
# The same wheel `.ci/smoke` builds and proves: installed without extras, dependencies from
# pyproject.toml only.
RUN python -m pip wheel --no-deps --wheel-dir /dist . \
 && python -m venv /opt/cme \
 && /opt/cme/bin/pip install --upgrade pip \
 && /opt/cme/bin/pip install /dist/cme_exchange-*.whl

FROM python:3.11-slim
# CME_TRUSTED_PROXIES: the addresses or CIDR networks of the reverse proxy or load balancer
# in front of this container, comma-separated (e.g. `10.0.0.0/24`). Only their
# X-Forwarded-For is believed when the token endpoint limits requests per client address;
# empty, every client is its TCP peer. Set it at `docker run -e`, never to a network that
# clients can reach the container from directly.
ENV PATH=/opt/cme/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CME_DEV_KEY_DIR=/var/lib/cme/dev-keys \
    CME_TRUSTED_PROXIES=
RUN groupadd --system cme && useradd --system --gid cme --home-dir /var/lib/cme --create-home cme
COPY --from=build /opt/cme /opt/cme
USER cme
WORKDIR /var/lib/cme
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
# `cme serve` runs uvicorn without its own X-Forwarded-For handling (CME_TRUSTED_PROXIES
# decides); do not replace it with a bare `uvicorn` command.
CMD ["cme", "serve", "--host", "0.0.0.0", "--port", "8000"]
