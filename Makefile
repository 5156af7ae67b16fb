# Two commands: `make run` and `make test` (as root on Debian 12: they install what is missing).
# Hardening (docs/SECURITY.md): `make sanitize` (ASan+UBSan tests and daemon), `make fuzz`
# (libFuzzer, FUZZ_SECONDS per target), `make tsan` (ThreadSanitizer, hub tests; not in CI).
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CONFIG ?= config/rushcast.json

APT_PACKAGES = build-essential cmake pkg-config ccache libboost1.81-dev nlohmann-json3-dev \
  libspdlog-dev libfmt-dev libgtest-dev libsqlite3-dev libssl-dev libhiredis-dev
# redis-server: only the tests use it (each starts its own on a free port; `make run` needs none).
TEST_APT_PACKAGES = redis-server
E2E_APT_PACKAGES = curl nginx chromium systemd util-linux dpkg-dev openssl ssl-cert
# The sanitizer and fuzzing builds use Debian's clang 14 and its runtimes (libFuzzer included).
SAN_APT_PACKAGES = clang-14 libclang-rt-14-dev
SAN_CXX ?= clang++-14
# One clang build dir for `make sanitize` and `make fuzz`: everything is compiled once with
# ASan+UBSan and libFuzzer's coverage; only the fuzz targets link libFuzzer.
SAN_DIR ?= build-san
TSAN_DIR ?= build-tsan
FUZZ_SECONDS ?= 30
# A sanitizer report fails the process that made it (UBSan too: -fno-sanitize-recover).
# Daemons started by the integration tests inherit these and print reports into their log.
SAN_ENV = ASAN_OPTIONS=detect_stack_use_after_return=1:detect_leaks=1:strict_init_order=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: all deps test-deps e2e-deps san-deps build run test unit integration e2e package clean \
  sanitize fuzz tsan

all: build

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

# The tests' own redis-server is started by the harness on a free loopback port with its own
# dir; the system service that Debian's package may start (port 6379) is neither used nor needed.
test-deps: deps
	@missing=""; for p in $(TEST_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

e2e-deps: test-deps
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

san-deps: deps
	@missing=""; for p in $(SAN_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi

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

integration: test-deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -L integration -j$(JOBS)

e2e: e2e-deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -L e2e

package: build
	cd $(BUILD_DIR) && cpack -G DEB

$(SAN_DIR)/CMakeCache.txt:
	cmake -S . -B $(SAN_DIR) -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_COMPILER=$(SAN_CXX) -DRUSHCAST_FUZZ=ON

# Unit and integration tests, and the daemon they start, under ASan+UBSan.
sanitize: san-deps test-deps $(SAN_DIR)/CMakeCache.txt
	cmake --build $(SAN_DIR) -j$(JOBS) --target rushcast unit_tests integration_tests
	cd $(SAN_DIR) && $(SAN_ENV) ctest --output-on-failure -L '^(unit|integration)$$' -j$(JOBS) --timeout 600

# Replays every checked-in corpus (ctest -L fuzz), then fuzzes each target for FUZZ_SECONDS.
# A crash fails the run and leaves its reproducer in $(SAN_DIR)/fuzz-out/<target>/.
fuzz: san-deps $(SAN_DIR)/CMakeCache.txt
	cmake --build $(SAN_DIR) -j$(JOBS) --target fuzz_targets
	cd $(SAN_DIR) && $(SAN_ENV) ctest --output-on-failure -L '^fuzz$$' -j$(JOBS)
	$(SAN_ENV) tests/fuzz/run_fuzzers.sh $(SAN_DIR) $(FUZZ_SECONDS)

$(TSAN_DIR)/CMakeCache.txt:
	cmake -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_COMPILER=$(SAN_CXX) -DRUSHCAST_TSAN=ON

# The hub, its shards and the write queue under ThreadSanitizer (unit tests only).
tsan: san-deps $(TSAN_DIR)/CMakeCache.txt
	cmake --build $(TSAN_DIR) -j$(JOBS) --target unit_tests
	cd $(TSAN_DIR) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -L '^unit$$' -R '^(Hub|Coalescer|Presence|WriteQueue|GatheredWrite)' -j$(JOBS)

clean:
	rm -rf $(BUILD_DIR) $(SAN_DIR) $(TSAN_DIR)
