#!/usr/bin/env bash
# The container image (scripts/image) run for real with podman (CTest label
# image; scripts/test --label image builds the image first):
#   1. every binary's --help runs in it, as user 10001 on a read-only root
#      filesystem (only /tmp and the state volume writable);
#   2. a short pipeline run inside it against the test broker (host
#      network): eventflow-produce writes seeded events, `eventflow run`
#      processes them until its raw-orders output holds every order (counted
#      with kcat, read_committed, against the orders counted in the input);
#   3. `podman stop` sends SIGTERM to tini, which hands it to eventflow: the
#      clean shutdown runs and the container exits 0.
# Every wait is bounded. Usage: image_test.sh <repo dir> (env EVENTFLOW_TEST_KAFKA,
# EVENTFLOW_TEST_IMAGE, EVENTFLOW_IMAGE_STORAGE, EVENTFLOW_PODMAN_RUNTIME).
set -euo pipefail

repo="$1"
version="$(sed -n 's/^project(eventflow VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")"
image="${EVENTFLOW_TEST_IMAGE:-localhost/eventflow:$version}"
kafka="${EVENTFLOW_TEST_KAFKA:-127.0.0.1:19092}"
# runc: crun refuses this sandbox's hybrid cgroup hierarchy. Explicit limits
# at or below the sandbox's: podman's defaults (nofile 1048576) exceed them and
# the runtime's setrlimit is refused.
podman=(podman --storage-driver "${EVENTFLOW_IMAGE_STORAGE:-vfs}" --runtime "${EVENTFLOW_PODMAN_RUNTIME:-runc}")
nofile="$(ulimit -Hn)"
limits=(--ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:8192)
name="eventflow-image-test-$$"
prefix="img-$$-"
work="$(mktemp -d)"
chmod 0777 "$work"   # the container's user 10001 writes its state here
fail() { echo "image_test: FAIL: $*" >&2; exit 1; }
cleanup() {
  "${podman[@]}" rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "image_test: FAIL: line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR

"${podman[@]}" image exists "$image" || fail "no image $image (scripts/image builds it)"
run=("${podman[@]}" run --rm "${limits[@]}" --network host --read-only --tmpfs /tmp --user 10001:10001)

# 1. Every binary, read-only root, non-root.
out="$("${run[@]}" "$image" --help)" || fail "eventflow --help exited $?"
grep -q "usage: eventflow <command>" <<<"$out" || fail "eventflow --help printed: $out"
for bin in eventflow-sink eventflow-produce eventflow-analytics eventflow-state; do
  "${run[@]}" --entrypoint "/usr/bin/tini" "$image" -- "/usr/local/bin/$bin" --help >/dev/null \
    || fail "$bin --help"
done
uid="$("${run[@]}" --entrypoint /usr/bin/id "$image" -u)"
[ "$uid" = 10001 ] || fail "runs as uid $uid"
echo "image_test: --help of the five binaries ok (uid $uid, read-only root)"

# 2. A short pipeline run in the image.
"${run[@]}" --entrypoint /usr/bin/tini "$image" -- /usr/local/bin/eventflow-produce \
  --bootstrap-servers "$kafka" --topic-prefix "$prefix" --count 2000 --seed 14 --max-rate \
  --progress off >/dev/null || fail "eventflow-produce in the image"
count() {  # records of topic $1, read_committed, from the beginning to the end (0 while it does not exist)
  { kcat -b "$kafka" -C -t "$1" -o beginning -e -q -X isolation.level=read_committed -f 'x\n' 2>/dev/null || true; } | wc -l
}
orders="$(count "${prefix}orders")"
[ "$orders" -gt 0 ] || fail "no orders produced"
"${podman[@]}" run -d --name "$name" "${limits[@]}" --network host --read-only --tmpfs /tmp \
  -v "$work:/var/lib/eventflow" "$image" run --bootstrap-servers "$kafka" \
  --application-id "${prefix}app" --instance-id pod-0 --topic-prefix "$prefix" \
  --state-dir /var/lib/eventflow/state --commit-interval-ms 100 \
  --http-address 127.0.0.1 --http-port 0 >/dev/null
deadline=$((SECONDS + 180))
while :; do
  raw="$(count "${prefix}orders_raw")"
  [ "$raw" -eq "$orders" ] && break
  [ "$("${podman[@]}" inspect -f '{{.State.Running}}' "$name")" = true ] \
    || { "${podman[@]}" logs "$name" | tail -20; fail "eventflow exited early"; }
  [ "$SECONDS" -lt "$deadline" ] \
    || { "${podman[@]}" logs "$name" | tail -20; fail "orders_raw has $raw of $orders orders after 180 s"; }
  sleep 1
done
echo "image_test: eventflow in the image wrote all $orders orders to ${prefix}orders_raw"

# 3. SIGTERM through tini: a clean shutdown, exit 0.
"${podman[@]}" stop -t 120 "$name" >/dev/null
code="$("${podman[@]}" inspect -f '{{.State.ExitCode}}' "$name")"
logs="$("${podman[@]}" logs "$name" 2>&1)"
[ "$code" = 0 ] || { tail -20 <<<"$logs"; fail "exit code $code after SIGTERM"; }
grep -q "state CREATED -> REBALANCING" <<<"$logs" || fail "no start in the log"
grep -qi "NOT_RUNNING" <<<"$logs" || { tail -20 <<<"$logs"; fail "no clean shutdown in the log"; }
[ -n "$(ls -A "$work/state")" ] || fail "nothing in the state volume"
echo "image_test: SIGTERM -> clean shutdown, exit 0; state kept in the volume"
