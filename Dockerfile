# syntax=docker/dockerfile:1
# corral: multi-stage build. Stage 1 compiles TypeScript with dev dependencies and the
# native data path (native/) with a C toolchain; stage 2 carries only the compiled output,
# the addon and production dependencies, and runs as non-root on the native data path.
# .ci/dockerfile-steps replays these steps outside Docker (CI has no Docker engine):
# keep the two in step.

FROM node:20-bookworm-slim AS build
# node-gyp's toolchain for native/, in this stage only: the runtime image has no compiler.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: package.json's install script would build native/, which is copied
# below so that a source change does not refetch dependencies (no dependency has an
# install script of its own). The addon is built there, strictly: the image must not
# quietly fall back to the JS path.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts/build-native.mjs ./scripts/
COPY native/binding.gyp native/*.c native/*.h ./native/
RUN node scripts/build-native.mjs --strict && npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
# Binding 80/443 as the non-root node user: Docker (20.10+), Podman and containerd 2.0
# start containers with net.ipv4.ip_unprivileged_port_start=0, so no capability is needed.
# Elsewhere (CRI-O, --network host) pass --sysctl net.ipv4.ip_unprivileged_port_start=80
# or publish high ports (-p 80:8080 -p 443:8443 with listeners on 8080/8443). The node
# binary deliberately gets no file capability (setcap cap_net_bind_service): glibc then
# runs it in secure mode and ignores GLIBC_TUNABLES below (docs/performance.md).
# Heap settings for every corral process (issue #13): without them bulk transfers make
# glibc return freed read buffers to the kernel and fault them back in. Workers get the
# same from the primary anyway; this covers `workers: 0`. Values: src/proxy/malloc-tunables.ts.
ENV GLIBC_TUNABLES=glibc.malloc.trim_threshold=1073741824:glibc.malloc.top_pad=268435456:glibc.malloc.mmap_threshold=4194304
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
# Where src/proxy/native-loader.ts looks from dist/src/proxy: ../../../native/build/Release.
COPY --from=build /src/native/build/Release/corral_native.node ./native/build/Release/corral_native.node
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
