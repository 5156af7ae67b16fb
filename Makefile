# Two commands: `make run` and `make test` (as root on Debian 12: they install what is missing).
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CONFIG ?= config/rushcast.json

APT_PACKAGES = build-essential cmake pkg-config ccache libboost1.81-dev nlohmann-json3-dev \
  libspdlog-dev libfmt-dev libgtest-dev libsqlite3-dev libssl-dev
E2E_APT_PACKAGES = curl nginx chromium systemd util-linux dpkg-dev openssl ssl-cert

.PHONY: all deps e2e-deps build run test unit integration e2e package clean

all: build

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

e2e-deps: deps
	@missing=""; for p in $(E2E_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
	@# Debian's ssl-cert makes the snakeoil pair at install; an image may lack it (the shipped
	@# nginx site defaults to it).
	@[ -f /etc/ssl/certs/ssl-cert-snakeoil.pem ] || make-ssl-cert generate-default-snakeoil
	@# Node may come from Debian or from a vendor package that bundles npm: check the commands.
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; fi
	@cd tests/e2e && if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then \
	  npm ci --no-audit --no-fund --loglevel=error; fi

$(BUILD_DIR)/CMakeCache.txt:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j$(JOBS)

run: build
	$(BUILD_DIR)/rushcast --config $(CONFIG)

test: e2e-deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600

unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit -j$(JOBS)

integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration -j$(JOBS)

e2e: e2e-deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -L e2e

package: build
	cd $(BUILD_DIR) && cpack -G DEB

clean:
	rm -rf $(BUILD_DIR)
