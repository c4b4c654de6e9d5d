# secret-vault: one stateless process per replica; PostgreSQL holds all state.
#
#   docker build -t secret-vault .
#   docker run --read-only -p 8080:8080 --env-file vault.env secret-vault          # serve
#   docker run --read-only --env-file vault.env secret-vault bin/secret-vault migrate # operator commands
#
# The source runs as TypeScript through Node 24's type stripping: there is no build step, so the build
# stage only installs production dependencies.

FROM node:24-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# The lockfile names the client package's workspace; its manifest is all npm ci needs of it.
COPY packages/client/package.json ./packages/client/
# Production dependencies only; the pinned node@24 dev dependency is not needed on a Node 24 image.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    VAULT_DATA_DIR=/data
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json openapi.yaml ./
COPY bin ./bin
COPY src ./src
COPY db ./db
# Non-root. The root filesystem can be read-only: the service writes nothing outside VAULT_DATA_DIR, and
# only the embedded database uses that (mount a volume there; with DATABASE_URL it stays empty).
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "src/server.ts"]
