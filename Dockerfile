# sqlbridge: the compiled server on Node.js 24, production dependencies only, as a non-root user.
#   docker build -t sqlbridge .
#   docker run -p 8008:8008 -v sqlbridge-data:/data sqlbridge demo

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-slim
# V8's young generation at most 2 x 16 MiB instead of 2 x 64 MiB: about a fifth less resident memory under load for a
# few percent of throughput (docs/operations.md, "Memory"). Set NODE_OPTIONS to override it.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=16 \
    SQLBRIDGE_HOST=0.0.0.0 \
    SQLBRIDGE_PORT=8008 \
    SQLBRIDGE_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
# The image's own Node runs the server: the `node` devDependency (Node 24 for npm scripts) is left out with the rest.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# 1000 is the base image's `node` user; numeric, so that Kubernetes' runAsNonRoot can check it.
RUN mkdir -p /data && chown 1000:1000 /data
USER 1000:1000
VOLUME /data
EXPOSE 8008
# slim images have no curl. The Host guard accepts loopback, so the check asks 127.0.0.1 directly.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.SQLBRIDGE_PORT || 8008}/readyz`, { signal: AbortSignal.timeout(4000) }).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
# Exec form: node is the process that receives SIGTERM and drains running calls (server.shutdownTimeoutMs).
ENTRYPOINT ["node", "dist/main.js"]
CMD ["serve"]
