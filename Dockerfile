# syntax=docker/dockerfile:1
# Build stage: full install (native better-sqlite3 build, esbuild) and bundle.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: production dependencies (the bundle's externals: better-sqlite3, ioredis,
# @fastify/swagger-ui and their own dependencies) and the bundle, as a non-root user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=2026
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# The playground's plain ES modules, served as they are (no build step): GET /playground.
COPY --chown=node:node playground ./playground
COPY --chown=node:node package.json ./
# `npm start` checks the build first (prestart)
COPY --chown=node:node scripts/check-build.mjs ./scripts/
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 2026
VOLUME ["/app/data"]
# Readiness, not liveness: Docker's "healthy" is what compose's depends_on and proxies that
# route by container health (Traefik) go by, and /ready is 503 exactly when this instance
# cannot serve (starting, stopping, session store unreachable, Coze token refused). Under
# Kubernetes use probes instead (liveness /health, readiness /ready); see README "Observability".
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||2026)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Exec form: node runs as PID 1 and gets SIGTERM directly, so shutdown is graceful.
# Stack traces name the TypeScript sources (dist/*.js.map, read by source-map-support on the first trace).
CMD ["node", "dist/server.js"]
