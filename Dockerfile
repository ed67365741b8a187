# rewinddb: a small image. Stage 1 builds the wheel and every dependency wheel; stage 2 installs
# them into a slim runtime that runs the server as an unprivileged user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY protocol protocol
COPY engine engine
COPY server server
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 --user-group rewinddb \
 && mkdir -p /var/lib/rewinddb \
 && chown rewinddb:rewinddb /var/lib/rewinddb
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels /wheels/rewinddb-*.whl \
 && rm -rf /wheels
USER 10001:10001
WORKDIR /home/rewinddb
ENV REWINDDB_HOST=0.0.0.0 \
    REWINDDB_PORT=5432 \
    REWINDDB_HTTP_PORT=8080 \
    REWINDDB_DATA_DIR=/var/lib/rewinddb \
    REWINDDB_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
VOLUME ["/var/lib/rewinddb"]
EXPOSE 5432 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=10 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=2)"]
ENTRYPOINT ["rewinddb"]
CMD ["serve"]
