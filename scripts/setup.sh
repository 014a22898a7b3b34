#!/usr/bin/env bash
# Set up a Debian (bookworm) machine to build, test and run gohost. Idempotent.
#
#   scripts/setup.sh          build tools, Python 3 headers + the example apps' packages, curl
#   scripts/setup.sh bench    the above + wrk and the servers gohost is compared with
#
# Installs with apt only the packages that are missing (apt-get update runs at most once, and only
# if something must be installed), which needs root (or password-less sudo); when everything is
# already installed it runs as any user. Go is not installed here: it must be on PATH
# (/usr/local/go/bin is added when present), at least 1.22. One line per group on success.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GO_MIN=1.22

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

usage() { echo "usage: scripts/setup.sh [bench]"; }

mode="${1:-}"
case "$mode" in
"" | bench) ;;
-h | --help) usage; exit 0 ;;
*) usage >&2; die "unknown argument '$mode'" ;;
esac
[ $# -le 1 ] || { usage >&2; die "too many arguments"; }

# "name:packages", one entry per group; each group reports on one line.
groups=(
	"build tools:gcc make pkg-config"
	"python:python3-dev python3-flask python3-django python3-pytest python3-venv"
	"tools:curl"
)
if [ "$mode" = bench ]; then
	groups+=("benchmarks:wrk gunicorn uwsgi-core uwsgi-plugin-python3 python3-waitress")
fi

command -v dpkg-query >/dev/null 2>&1 ||
	die "dpkg-query not found: this script supports Debian (bookworm) and derivatives only"

# missing PKG...: print the packages that are not installed.
missing() {
	local p
	for p in "$@"; do
		[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || echo "$p"
	done
}

# as_root CMD...: run CMD as root, directly or through password-less sudo (checked before).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo -n env DEBIAN_FRONTEND=noninteractive "$@"
	fi
}

log="$(mktemp "${TMPDIR:-/tmp}/gohost-setup.XXXXXX")"
trap 'rm -f "$log"' EXIT

# run_logged DESCRIPTION CMD...: run CMD as root with its output in $log, shown only on failure.
run_logged() {
	local what="$1"
	shift
	local rc=0
	as_root "$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 30 "$log" >&2
		die "$what failed (exit $rc)"
	fi
}

updated=
for group in "${groups[@]}"; do
	name="${group%%:*}"
	read -r -a pkgs <<<"${group#*:}"
	mapfile -t need < <(missing "${pkgs[@]}")
	if [ "${#need[@]}" -eq 0 ]; then
		say "$name: ok"
		continue
	fi
	if [ "$(id -u)" -ne 0 ] && ! { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
		die "$name: missing ${need[*]}; installing needs root: run 'sudo scripts/setup.sh${mode:+ $mode}'"
	fi
	say "$name: installing ${need[*]}"
	if [ -z "$updated" ]; then
		run_logged "apt-get update" apt-get update -q
		updated=1
	fi
	run_logged "apt-get install ${need[*]}" apt-get install -y -q --no-install-recommends "${need[@]}"
	mapfile -t still < <(missing "${need[@]}")
	[ "${#still[@]}" -eq 0 ] || die "still not installed after apt-get: ${still[*]}"
done

# The embedding flags gohost's cgo build uses.
pkg-config --exists python3-embed ||
	die "pkg-config cannot find python3-embed (is python3-dev installed?)"
# The static CPython gohost links by default (pybridge/cgo.go).
[ -f /usr/lib/python3.11/config-3.11-x86_64-linux-gnu/libpython3.11.a ] ||
	die "libpython3.11.a is missing (is libpython3.11-dev installed?)"

# ver_ge A B: true if version A >= version B.
ver_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }

if [ -x /usr/local/go/bin/go ]; then
	case ":$PATH:" in *:/usr/local/go/bin:*) ;; *) PATH="/usr/local/go/bin:$PATH" ;; esac
fi
command -v go >/dev/null 2>&1 ||
	die "go not found on PATH: install Go >= $GO_MIN from https://go.dev/dl/ (e.g. tar -C /usr/local -xzf go*.linux-amd64.tar.gz) and add /usr/local/go/bin to PATH"
# GOTOOLCHAIN=local and cd /: report the installed go, without go.mod triggering a toolchain switch.
gover="$(cd / && GOTOOLCHAIN=local go env GOVERSION 2>/dev/null || true)"
case "$gover" in
go[0-9]*) have="${gover#go}" ;;
devel*) say "go: $gover ($(command -v go))"; exit 0 ;;
*) die "cannot tell the version of $(command -v go) (go env GOVERSION said '$gover')" ;;
esac
ver_ge "$have" "$GO_MIN" ||
	die "go $have is too old ($(command -v go)): gohost needs Go >= $GO_MIN, see https://go.dev/dl/"
# go.mod may ask for a newer release than GO_MIN; the go command then fetches it (network needed)
# unless GOTOOLCHAIN=local.
want="$(awk '$1 == "go" { print $2; exit }' "$ROOT/go.mod" 2>/dev/null || true)"
if [ -n "$want" ] && ! ver_ge "$have" "$want"; then
	if [ "$(cd / && go env GOTOOLCHAIN)" = local ]; then
		die "go $have is older than go.mod's go $want and GOTOOLCHAIN=local: install Go >= $want"
	fi
	say "go: go$have ($(command -v go)); go.mod wants go$want: the go command will download it on first use"
else
	say "go: go$have ($(command -v go))"
fi
