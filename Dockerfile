# gohost container image: gohost + Debian bookworm's CPython 3.11 + a WSGI app at /app.
# See docs/DEPLOYMENT.md.
#
#   docker build -t gohost .                    # compile gohost in a golang:*-bookworm stage
#   make docker                                 # the same with podman (if present) or docker
#   make docker PREBUILT=1                      # copy the host's bin/gohost (target "prebuilt")
#   make docker-test                            # build here, serve the example, stop on TERM
#
# Targets (the default is the last one, "runtime"):
#   build     Go toolchain + python3-dev; compiles /out/gohost
#   app       runtime base: Python, the app's requirements in /app/.venv, the app in /app
#   prebuilt  app + a gohost binary built outside (bin/gohost in the context)
#   runtime   app + the gohost binary from the build stage
#
# Build arguments:
#   GO_IMAGE      builder base; must be Debian bookworm so it links the same libpython3.11
#   BASE          runtime base (Debian bookworm; here: localhost/debian:bookworm, see deploy/)
#   VERSION       reported by gohost --version (the Makefile passes git describe)
#   GOPROXY       Go module proxy of the build stage (default: Go's, proxy.golang.org)
#   APT_PACKAGES  extra Debian packages in the runtime image (Python libraries from Debian, or
#                 "build-essential python3-dev" when a requirement must be compiled)
#   APP_SRC       directory of the context copied to /app
#   REQUIREMENTS  pip requirements file of the context, installed into /app/.venv
#
# gohost must be linked against the runtime's libpython3.11 (Debian bookworm, glibc 2.36): the
# builder and the runtime base are both bookworm, and a prebuilt binary must come from bookworm.

ARG GO_IMAGE=golang:1.26-bookworm
ARG BASE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${GO_IMAGE} AS build
# cgo: gcc (already in golang:*-bookworm) and the embedding headers (pkg-config python3-embed).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# GOPROXY: a module proxy of your own (corporate mirror, or file:///DIR of a module cache's
# cache/download mounted with `podman build -v`); unset = Go's default (proxy.golang.org).
ARG GOPROXY
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-X main.version=${VERSION}" -o /out/gohost ./cmd/gohost \
 && /out/gohost --version

# ---------------------------------------------------------------------------------------------
FROM ${BASE} AS app
ARG APT_PACKAGES="python3-flask"
ARG REQUIREMENTS=deploy/requirements-example.txt
ARG APP_SRC=python

# python3: the stdlib and extension modules gohost's (static) CPython imports, the venv and
# the HEALTHCHECK; libpython3.11: for C extensions built against the shared library.
# The server runs as the unprivileged user gohost (uid 10001).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libpython3.11 python3 ca-certificates ${APT_PACKAGES} \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin gohost

# The app's requirements go into a venv that also sees Debian's packages (APT_PACKAGES), so a
# requirement that Debian already provides is satisfied without downloading anything. gohost
# adds $VIRTUAL_ENV's site-packages to sys.path (its --virtualenv default). pip is installed
# only when the requirements file lists something, and removed again afterwards.
ENV VIRTUAL_ENV=/app/.venv \
    PATH=/app/.venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1
COPY ${REQUIREMENTS} /tmp/requirements.txt
RUN python3 -m venv --without-pip --system-site-packages "$VIRTUAL_ENV" \
 && if grep -qvE '^[[:space:]]*(#|$)' /tmp/requirements.txt; then \
        apt-get update \
     && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-pip \
     && "$VIRTUAL_ENV/bin/python" -m pip install --no-compile -r /tmp/requirements.txt \
     && apt-get purge -y --auto-remove python3-pip \
     && apt-get clean && rm -rf /var/lib/apt/lists/*; \
    fi \
 && rm /tmp/requirements.txt

# The app belongs to root and is read-only for the server's user; bytecode is compiled now
# so that nothing needs to be written at run time (read-only root filesystem).
COPY ${APP_SRC}/ /app/
RUN python3 -m compileall -q /app

WORKDIR /app
# Numeric, so that Kubernetes' runAsNonRoot can verify it without a runAsUser.
USER 10001:10001
EXPOSE 8000
# gohost handles TERM as PID 1 itself: workers finish in-flight requests (--graceful-timeout,
# default 30 s), then the master exits 0. Give `docker stop -t` / Kubernetes'
# terminationGracePeriodSeconds more than that.
STOPSIGNAL SIGTERM
# No curl in the slim image: Python's urllib. HEALTHCHECK_URL follows a non-default --bind
# (GOHOST_* names are reserved for gohost's own settings). With --metrics-bind, point it at
# /healthz on that address instead.
ENV HEALTHCHECK_URL=http://127.0.0.1:8000/
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['HEALTHCHECK_URL'], timeout=3)"]
ENTRYPOINT ["gohost"]
CMD ["-b", "0.0.0.0:8000", "flaskapp.app:application"]

# ---------------------------------------------------------------------------------------------
# gohost built outside the image (make build on Debian bookworm): used where no Go image can be
# pulled, e.g. by deploy/docker-test.sh.
FROM app AS prebuilt
COPY bin/gohost /usr/local/bin/gohost

# ---------------------------------------------------------------------------------------------
# The default target.
FROM app AS runtime
COPY --from=build /out/gohost /usr/local/bin/gohost
