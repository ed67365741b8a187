# A small image: build a wheel in one stage, install it in a slim runtime as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY protocol protocol
COPY engine engine
COPY server server
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 1000 rewinddb \
 && apt-get update && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
 && mkdir -p /var/lib/rewinddb && chown rewinddb:rewinddb /var/lib/rewinddb
USER rewinddb
ENV REWINDDB_HOST=0.0.0.0 REWINDDB_PORT=5432 REWINDDB_DATA_DIR=/var/lib/rewinddb
VOLUME /var/lib/rewinddb
EXPOSE 5432
ENTRYPOINT ["rewinddb", "serve"]
