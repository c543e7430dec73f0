# syntax=docker/dockerfile:1
# corral: multi-stage build. Stage 1 compiles TypeScript with dev dependencies; stage 2
# carries only the compiled output and production dependencies, and runs as non-root.
# .ci/dockerfile-steps replays these steps outside Docker (CI has no Docker engine):
# keep the two in step.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
# Binding 80/443 without root: give the node binary CAP_NET_BIND_SERVICE (a file
# capability, kept within Docker's default capability set). Alternatives: publish high
# ports (-p 80:8080 -p 443:8443 with listeners on 8080/8443), or run with
# --sysctl net.ipv4.ip_unprivileged_port_start=80.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcap2-bin \
 && setcap cap_net_bind_service=+ep "$(readlink -f "$(command -v node)")" \
 && apt-get purge -y libcap2-bin && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY examples/corral.yaml /etc/corral/corral.yaml
USER node
EXPOSE 80 443 9901
# The admin API must be reachable from inside the container for this check (the default
# admin bind 127.0.0.1:9901 is). Exit 0 only on HTTP 200 from /healthz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9901/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node as PID 1 gets no default signal handlers, but corral installs its own: SIGTERM
# drains (timeouts.shutdown) and exits 0, SIGHUP reloads /etc/corral/corral.yaml.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["lb", "--config", "/etc/corral/corral.yaml"]
