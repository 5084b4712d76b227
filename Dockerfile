# syntax=docker/dockerfile:1
# Range42 backend API. Multi-stage: build the TypeScript, then a Debian bookworm runtime with
# Debian's Ansible and ansible-runner, running as a non-root user whose UID/GID are build args.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM ${NODE_IMAGE} AS runtime
ARG APP_UID=10042
ARG APP_GID=10042
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ansible ansible-core python3-ansible-runner openssh-client sshpass ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid "${APP_GID}" range42 \
 && useradd --uid "${APP_UID}" --gid "${APP_GID}" --create-home --shell /usr/sbin/nologin range42
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json openapi.json ./
COPY playbooks ./playbooks
COPY roles ./roles
COPY inventory ./inventory
COPY catalog ./catalog
# The job database (jobs.db): writable by the service, kept on a volume.
RUN mkdir -p /app/data && chown range42:range42 /app/data && chmod 0700 /app/data
VOLUME ["/app/data"]
USER range42
ENV HOST=0.0.0.0 PORT=8000 PROJECT_ROOT_DIR=/app DATA_DIR=/app/data NODE_ENV=production
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/docs/openapi.json').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/server.js"]
