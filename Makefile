# gohost: a WSGI server in Go embedding CPython. See README.md.
#
#   make run          set up the machine, build, serve the Flask example on 127.0.0.1:8000
#   make run-django   same with the Django example project (static files served by gohost)
#   make test         set up, build, go vet, go test, the Python apps' tests
#   make bench        benchmarks against gunicorn, uWSGI and waitress (bench-short: a quick pass)
#   make fuzz         every fuzz target for $(FUZZTIME)
#   make setup        install what is missing (scripts/setup.sh); make clean
#
# Every target works from a clean clone on Debian bookworm.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

export PATH := /usr/local/go/bin:$(PATH)

GO ?= go
PYTHON := /usr/bin/python3
BIN := bin/gohost
BIND ?= 127.0.0.1:8000
GOTEST_TIMEOUT ?= 10m
FUZZTIME ?= 20s

# Recursive (=): git only runs when a recipe needs the version. "dev" outside a git checkout or
# before the first commit.
VERSION = $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS = -X main.version=$(VERSION)

DJANGO_DIR := python/djangoproject
DJANGO_STATIC := $(CURDIR)/$(DJANGO_DIR)/staticfiles

.PHONY: build setup setup-bench run run-django django-demo test bench bench-short fuzz fuzz-ci clean

build:
	@mkdir -p $(dir $(BIN))
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gohost

setup:
	@bash scripts/setup.sh

setup-bench:
	@bash scripts/setup.sh bench

# The Flask example (python/flaskapp/app.py).
run: setup build
	$(BIN) --chdir python -b $(BIND) flaskapp.app:application

# Migrate the example Django project's SQLite database, create admin / admin-password-123 and demo
# notes, collect static files into $(DJANGO_DIR)/staticfiles. Idempotent.
django-demo:
	@bash $(DJANGO_DIR)/setup_demo.sh

# The Django example: gohost serves /static/ itself (Django does not with DEBUG off).
run-django: setup build django-demo
	$(BIN) --chdir $(DJANGO_DIR) -b $(BIND) --static /static=$(DJANGO_STATIC) \
		djangoproject.wsgi:application

# GOHOST_BIN tells the e2e tests which binary to run.
test: export GOHOST_BIN := $(CURDIR)/$(BIN)
test: setup build django-demo
	$(GO) vet ./...
	$(GO) vet -tags pyshared ./pybridge  # the shared-libpython build still compiles
	$(GO) test -count=1 -timeout $(GOTEST_TIMEOUT) ./...
	$(PYTHON) -m pytest -q -p no:cacheprovider python/tests
	$(MAKE) --no-print-directory fuzz-ci

bench: setup-bench build
	$(GO) run ./bench

bench-short: setup-bench build
	$(GO) run ./bench -short

# Each fuzz target runs for $(FUZZTIME); -fuzz is anchored because it must match exactly one.
fuzz: setup
	$(GO) test ./server -run='^$$' -fuzz='^FuzzParseRequest$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./server -run='^$$' -fuzz='^FuzzChunked$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./environ -run='^$$' -fuzz='^FuzzAppend$$' -fuzztime=$(FUZZTIME)

# The bounded fuzz pass of `make test` (CI): a fixed number of executions per target, which
# costs about the same on any machine (time budgets trip over a Go 1.26 fuzzing bug on a loaded
# machine: "context deadline exceeded").
FUZZ_CI_EXECS ?= 20000x
FUZZ_TARGETS := ./server:FuzzParseRequest ./server:FuzzChunked ./environ:FuzzAppend ./host/proxyproto:FuzzParse
fuzz-ci:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		[ -d "$$pkg" ] || continue; \
		echo "fuzz $$pkg $$name ($(FUZZ_CI_EXECS))"; \
		$(GO) test "$$pkg" -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZ_CI_EXECS) >/tmp/gohost-fuzz.log 2>&1 || { cat /tmp/gohost-fuzz.log; exit 1; }; \
	done

clean:
	rm -rf bin $(DJANGO_DIR)/staticfiles $(DJANGO_DIR)/db.sqlite3
	find python -name __pycache__ -type d -prune -exec rm -rf {} +

# Container image (Dockerfile, docs/DEPLOYMENT.md) with podman if present, else docker.
# PREBUILT=1 copies bin/gohost (built here, on Debian bookworm) instead of compiling gohost in a
# golang image; DOCKER_BUILD_ARGS adds options, e.g. --build-arg BASE=localhost/debian:bookworm.
DOCKER_IMAGE ?= gohost:latest
DOCKER_BUILD_ARGS ?=
PREBUILT ?=

.PHONY: docker docker-test

docker: $(if $(PREBUILT),build)
	@engine=$$(command -v podman || command -v docker) || { echo "make docker: neither podman nor docker found" >&2; exit 1; }; \
	fmt=; case "$$engine" in */podman) fmt='--format docker';; esac; \
	set -x; "$$engine" build $$fmt $(if $(PREBUILT),--target prebuilt) --build-arg VERSION=$(VERSION) \
		$(DOCKER_BUILD_ARGS) -t $(DOCKER_IMAGE) .

# Builds the image here (local debootstrap base, prebuilt binary), serves the Flask example in
# it, runs its HEALTHCHECK and stops it with TERM (deploy/docker-test.sh).
docker-test:
	@bash deploy/docker-test.sh
