# matchd container image.
#
# Built on Debian 12 with the repo's own scripts (scripts/install-deps.sh, scripts/build.sh),
# run on debian:12-slim with only the shared libraries the binary links
# (scripts/install-deps.sh --runtime-only), as an unprivileged user.
#
#   docker build -t matchd .                    (or: docker-compose build matchd)
#   docker run --rm -p 8080:8080 -e MATCHD_DB="host=db dbname=matchd user=matchd" matchd
#   docker run --rm -e MATCHD_DB=... --entrypoint matchd matchd migrate    (migrations only)
#
# The daemon applies pending migrations itself at start. Without MATCHD_DB it runs IN MEMORY:
# nothing it acknowledges survives a restart. Other settings: MATCHD_INSTRUMENTS,
# MATCHD_LOG_LEVEL, and any `matchd --help` option appended as the container command.
# Debug symbols stay in the build stage: docker build --target build, /build/matchd.debug.

FROM debian:12 AS build
WORKDIR /src
# Dependencies first, so this layer is only rebuilt when the package list changes.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN MATCHD_SKIP_BROWSER=1 bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
ARG BUILD_TYPE=RelWithDebInfo
RUN MATCHD_BUILD_DIR=/build bash scripts/build.sh \
      -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DMATCHD_BUILD_TESTS=OFF -DMATCHD_BUILD_BENCH=OFF \
 && objcopy --only-keep-debug /build/src/app/matchd /build/matchd.debug \
 && strip --strip-debug --strip-unneeded -o /build/matchd /build/src/app/matchd \
 && objcopy --add-gnu-debuglink=/build/matchd.debug /build/matchd

FROM debian:12-slim AS runtime
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN bash /tmp/install-deps.sh --runtime-only \
 && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
 && groupadd --gid 10001 matchd \
 && useradd --uid 10001 --gid matchd --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin matchd
COPY --from=build /build/matchd /usr/local/bin/matchd
# Fail here, not at the first start, if the runtime package list misses a library.
RUN if ldd /usr/local/bin/matchd | grep 'not found'; then \
      echo 'matchd: shared libraries missing: fix scripts/install-deps.sh --runtime-only' >&2; \
      exit 1; \
    fi \
 && /usr/local/bin/matchd --help >/dev/null

USER 10001:10001
EXPOSE 8080
# Liveness without extra packages: bash's /dev/tcp sends GET /healthz, the status line must
# say 200. /healthz answers during recovery too; readiness is /readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
# SIGTERM (docker stop) drains and stops cleanly; give it the compose stop_grace_period.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/matchd", "--listen", "0.0.0.0:8080"]
