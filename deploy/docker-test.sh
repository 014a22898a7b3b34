#!/usr/bin/env bash
# deploy/docker-test.sh (make docker-test): build the gohost image on this machine with podman and
# prove that it serves the example Flask app, passes its HEALTHCHECK and stops cleanly on TERM.
#
# No container registry is reachable here (see docs/DEPLOYMENT.md), so:
#   - the runtime base is a Debian bookworm image made locally with debootstrap and imported
#     into podman as localhost/debian:bookworm (once: kept in podman's storage as the cache);
#   - gohost is compiled on the host (make build) and copied in (Dockerfile target "prebuilt")
#     instead of compiling it in a golang:*-bookworm stage.
# runc and explicit ulimits are required on these machines (crun rejects the cgroup layout, and
# root cannot raise resource limits): both go into a temporary containers.conf.
#
# Environment:
#   IMAGE=localhost/gohost:test        the image built and run
#   BASE_IMAGE=localhost/debian:bookworm  runtime base; made with debootstrap if missing
#   KEEP_IMAGE=1                       keep the test image (the base is always kept)
#
# One line per step with the elapsed seconds, then "docker-test: PASS" or "docker-test: FAIL: ...".
# Exit status 0 only on PASS. Every step is bounded in time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

IMAGE="${IMAGE:-localhost/gohost:test}"
BASE_IMAGE="${BASE_IMAGE:-localhost/debian:bookworm}"
KEEP_IMAGE="${KEEP_IMAGE:-1}"
PACKAGES=(podman buildah debootstrap runc uidmap slirp4netns fuse-overlayfs)

T0=$SECONDS
STEP_T0=$SECONDS
say() { printf '[docker-test %4ss] %s\n' "$((SECONDS - T0))" "$*"; }
step() { STEP_T0=$SECONDS; say "$*"; }
done_step() { say "  ok ($((SECONDS - STEP_T0)) s)${1:+: $1}"; }
fail() {
	say "FAIL: $*"
	echo "docker-test: FAIL: $*"
	exit 1
}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo -n "$@"
	fi
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/gohost-docker-test.XXXXXX")"
CONTAINER="gohost-docker-test-$$"
cleanup() {
	local rc=$?
	if command -v podman >/dev/null 2>&1 && [ -n "${CONTAINERS_CONF:-}" ]; then
		timeout 30 podman rm -f -t 0 "$CONTAINER" >/dev/null 2>&1 || true
		if [ "$KEEP_IMAGE" != 1 ]; then
			timeout 30 podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
		fi
	fi
	# The debootstrap tree is owned by root and may hold device nodes: remove as root.
	as_root rm -rf "$WORK" 2>/dev/null || rm -rf "$WORK" || true
	exit "$rc"
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

# --- 1. tools --------------------------------------------------------------------------------
step "tools: ${PACKAGES[*]}"
missing=()
for p in "${PACKAGES[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	command -v apt-get >/dev/null 2>&1 || fail "missing ${missing[*]} and no apt-get"
	say "  installing ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -q >"$WORK/apt.log" 2>&1 &&
		as_root env DEBIAN_FRONTEND=noninteractive timeout 300 \
			apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$WORK/apt.log" 2>&1 ||
		{ tail -20 "$WORK/apt.log"; fail "apt-get install ${missing[*]}"; }
fi
done_step "$(podman --version)"

# podman settings for these machines, for build, run, exec and healthcheck alike.
nofile="$(ulimit -Hn)"
[ "$nofile" = unlimited ] && nofile=1048576
cat >"$WORK/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]

[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF="$WORK/containers.conf"
# podman schedules HEALTHCHECKs with systemd timers; there may be no systemd here, and the test
# runs the check itself (podman healthcheck run).
export DISABLE_HC_SYSTEMD=true

# --- 2. base image ---------------------------------------------------------------------------
step "base image $BASE_IMAGE"
if timeout 30 podman image exists "$BASE_IMAGE"; then
	done_step "cached"
else
	[ "$BASE_IMAGE" = localhost/debian:bookworm ] ||
		fail "$BASE_IMAGE does not exist (only localhost/debian:bookworm is made here)"
	# The mirror apt uses on this machine, read now: never written into a file.
	mirror=""
	if [ -r /etc/apt/sources.list.d/debian.sources ]; then
		mirror="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
	fi
	if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
		mirror="$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)"
	fi
	[ -n "$mirror" ] || fail "no Debian mirror in /etc/apt/sources.list.d/debian.sources"
	say "  debootstrap --variant=minbase bookworm (mirror from apt's configuration)"
	as_root timeout 600 debootstrap --variant=minbase bookworm "$WORK/rootfs" "$mirror" \
		>"$WORK/debootstrap.log" 2>&1 ||
		{ tail -20 "$WORK/debootstrap.log"; fail "debootstrap"; }
	as_root rm -rf "$WORK"/rootfs/var/cache/apt/archives/*.deb "$WORK"/rootfs/var/lib/apt/lists/*
	as_root tar -C "$WORK/rootfs" -c . |
		timeout 300 podman import --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null ||
		fail "podman import"
	as_root rm -rf "$WORK/rootfs"
	done_step "made"
fi

# --- 3. gohost binary ------------------------------------------------------------------------
step "make build (bin/gohost for the prebuilt target)"
timeout 300 make --no-print-directory build >"$WORK/build.log" 2>&1 ||
	{ tail -20 "$WORK/build.log"; fail "make build"; }
done_step "$(bin/gohost --version 2>&1 | head -1)"

# --- 4. image --------------------------------------------------------------------------------
# --format docker: the OCI image format has no HEALTHCHECK (podman would drop it).
step "podman build --target prebuilt -t $IMAGE"
timeout 300 podman build --format docker --target prebuilt \
	--build-arg BASE="$BASE_IMAGE" -t "$IMAGE" . >"$WORK/image.log" 2>&1 ||
	{ tail -30 "$WORK/image.log"; fail "podman build"; }
size="$(podman image inspect --format '{{.Size}}' "$IMAGE" 2>/dev/null || echo '?')"
done_step "$((size / 1000000)) MB"

# The image's metadata: what the Dockerfile promises.
user="$(podman image inspect --format '{{.Config.User}}' "$IMAGE")"
entry="$(podman image inspect --format '{{json .Config.Entrypoint}}' "$IMAGE")"
stopsig="$(podman image inspect --format '{{.Config.StopSignal}}' "$IMAGE")"
health="$(podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")"
[ "$user" = 10001:10001 ] || fail "image user is '$user', want 10001:10001"
[ "$entry" = '["gohost"]' ] || fail "entrypoint is $entry"
[ "$stopsig" = SIGTERM ] || fail "stop signal is '$stopsig'"
case "$health" in *python3*) ;; *) fail "no HEALTHCHECK in the image ($health)" ;; esac

# --- 5. run ----------------------------------------------------------------------------------
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
# Read-only root filesystem (a tmpfs /tmp), no capabilities, no privilege escalation: as the
# securityContext of deploy/kubernetes.yaml.
step "podman run --network host --read-only --cap-drop all $IMAGE -b 127.0.0.1:$port flaskapp.app:application"
timeout 60 podman run -d --name "$CONTAINER" --network host \
	--read-only --cap-drop all --security-opt no-new-privileges \
	-e HEALTHCHECK_URL="$url/" \
	"$IMAGE" -b "127.0.0.1:$port" flaskapp.app:application >/dev/null ||
	fail "podman run"
ready=""
for _ in $(seq 1 100); do
	if body="$(curl -fsS --max-time 2 "$url/" 2>/dev/null)"; then
		ready=1
		break
	fi
	[ "$(podman inspect --format '{{.State.Running}}' "$CONTAINER" 2>/dev/null)" = true ] || break
	sleep 0.2
done
[ -n "$ready" ] || { podman logs "$CONTAINER" 2>&1 | tail -20; fail "no answer on $url/"; }
done_step "serving"

step "GET / and GET /json"
[ "$body" = "Hello from gohost!" ] || fail "GET / returned '$body'"
json="$(curl -fsS --max-time 5 "$url/json")" || fail "GET /json"
python3 - "$json" <<'EOF' || fail "GET /json returned $json"
import json, sys
doc = json.loads(sys.argv[1])
assert doc["server"] == "gohost" and doc["answer"] == 42, doc
EOF
pid1="$(podman exec "$CONTAINER" cat /proc/1/comm)"
uid="$(podman exec "$CONTAINER" id -u)"
[ "$pid1" = gohost ] || fail "PID 1 is '$pid1', not gohost"
[ "$uid" != 0 ] || fail "the container runs as root"
done_step "PID 1 = $pid1, uid $uid"

step "HEALTHCHECK"
hc="$(timeout 30 podman healthcheck run "$CONTAINER" 2>&1)" || fail "healthcheck: $hc"
done_step "${hc:-healthy}"

# --- 6. stop ---------------------------------------------------------------------------------
# TERM to PID 1 (gohost's master); podman sends KILL after 10 s, which would be exit code 137.
step "podman stop (SIGTERM)"
t="$(date +%s%N)"
timeout 30 podman stop -t 10 "$CONTAINER" >/dev/null || fail "podman stop"
ms=$((($(date +%s%N) - t) / 1000000))
code="$(podman inspect --format '{{.State.ExitCode}}' "$CONTAINER")"
logs="$(podman logs "$CONTAINER" 2>&1)"
[ "$code" = 0 ] || { echo "$logs" | tail -20; fail "exit code $code after TERM (137 = killed)"; }
[ "$ms" -lt 8000 ] || fail "stop took ${ms} ms"
grep -qiE 'signal.*SIGTERM|graceful' <<<"$logs" ||
	{ echo "$logs" | tail -20; fail "the log shows no graceful stop"; }
say "  log: $(grep -iE 'shutting down|graceful' <<<"$logs" | head -1 | sed 's/^\[[^]]*\] //')"
say "  log: $(tail -1 <<<"$logs" | sed 's/^\[[^]]*\] //')"
done_step "exit code $code in ${ms} ms"

echo "docker-test: PASS ($((SECONDS - T0)) s; image $IMAGE)"
