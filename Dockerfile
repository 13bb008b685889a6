# The Switchyard gateway. Build from the repository root:  docker build -t switchyard .
# The gateway runs its TypeScript directly on Node 24 (no compile step). The build
# stage installs the production dependencies (better-sqlite3 is a native addon,
# compiled there when no prebuilt binary fits) and builds the console; the runtime
# stage copies only what runs onto a clean slim image, without compilers.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
# A C++ toolchain for better-sqlite3's node-gyp fallback.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Dependencies first: this layer is rebuilt only when the lock file changes.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY proto ./proto
COPY ui ./ui
# The console is built here, so a container never builds it at start (and needs no write access to ui/).
RUN npm run build:ui

FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: the kernel ignores SIGTERM for a PID 1 that has no handler, and
# node installs its handler only once the gateway has started, so a container
# stopped while it waits for PostgreSQL would sit out the whole grace period.
# tini forwards SIGTERM and SIGINT to node and reaps any orphaned child.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV SWITCHYARD_DATA_DIR=/var/lib/switchyard \
    SWITCHYARD_DISCOVER_LOCAL_OLLAMA=false \
    SWITCHYARD_LOG_FORMAT=json
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/bin ./bin
COPY --from=build /app/src ./src
COPY --from=build /app/proto ./proto
COPY --from=build /app/ui/dist ./ui/dist
COPY deploy/docker/entrypoint.sh ./deploy/docker/entrypoint.sh
# The code stays root's and read-only to the gateway; only the data directory is its own.
RUN chmod 0755 deploy/docker/entrypoint.sh \
 && mkdir -p /var/lib/switchyard \
 && chown 1000:1000 /var/lib/switchyard \
 && chmod 0700 /var/lib/switchyard
# The image's "node" user, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# SQLite database and the generated secret key when no DATABASE_URL / SWITCHYARD_SECRET_KEY is
# given; with PostgreSQL, still the embedded vector store and Hugging Face downloads.
VOLUME ["/var/lib/switchyard"]
EXPOSE 8000
# /health is liveness (the process serves); the port follows the gateway's own order of variables.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.SWITCHYARD_PORT || process.env.PORT || 8000}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "/app/deploy/docker/entrypoint.sh"]
CMD ["serve"]
