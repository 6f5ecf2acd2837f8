# The EventFlow image: one image for every binary — eventflow (run, describe,
# topologies, state-lag, reset), eventflow-sink, eventflow-produce,
# eventflow-analytics and eventflow-state — under tini as PID 1 (SIGTERM
# reaches the process and its clean shutdown runs; zombies are reaped).
#
# Built by scripts/image from Debian 12 packages only: no registry is needed.
# BASE is a Debian 12 (bookworm) root filesystem image that scripts/image
# makes with debootstrap (minbase) and imports; any debian:bookworm works too.
#
# Runs as user 10001 with a read-only root filesystem: the state directory
# (/var/lib/eventflow) and /tmp are volumes (the Helm chart mounts a
# PersistentVolumeClaim and an emptyDir there).
ARG BASE=localhost/eventflow-debian:bookworm

# --- build: the project's own install script, Release, tools only ----------
FROM ${BASE} AS build
ARG EVENTFLOW_BUILD_JOBS=2
ENV DEBIAN_FRONTEND=noninteractive
COPY . /src
WORKDIR /src
RUN rm -rf build* .cache .run \
 && scripts/deps --build \
 && EVENTFLOW_BUILD_JOBS="$EVENTFLOW_BUILD_JOBS" scripts/install --no-deps --prefix /opt/eventflow --build-dir /tmp/build

# --- runtime: Debian 12 with the runtime libraries only ---------------------
FROM ${BASE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      tini ca-certificates \
      librdkafka1 librocksdb7.8 libpq5 libboost-program-options1.74.0 libsimdjson14 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && groupadd --gid 10001 eventflow \
 && useradd --uid 10001 --gid 10001 --home-dir /var/lib/eventflow --no-create-home \
      --shell /usr/sbin/nologin eventflow \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/eventflow
COPY --from=build /opt/eventflow/bin/ /usr/local/bin/
# Every binary must find its libraries (fails the build otherwise).
RUN for b in /usr/local/bin/eventflow*; do \
      if ldd "$b" | grep -q 'not found'; then ldd "$b"; exit 1; fi; done
USER 10001:10001
WORKDIR /var/lib/eventflow
VOLUME ["/var/lib/eventflow", "/tmp"]
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/eventflow"]
CMD ["--help"]
