# The two commands: `make run` serves the gateway on 127.0.0.1:8787; `make test` runs every test.
# Both install what they need first (Debian's liblua5.4-dev, libssl-dev and libyaml-dev; the Python test tools).
SWIFT ?= swift
PYTHON ?= python3
PORT ?= 8787
HOST ?= 127.0.0.1

.PHONY: run test deps system-deps test-deps python-deps build-release

run: system-deps build-release
	.build/release/switchboard --host $(HOST) --port $(PORT) --providers ./providers --scripts ./scripts --plugins ./plugins

# Release builds turn off Swift's run-time exclusivity checks (every module, NIO's included): they
# were 9 % of a passthrough request's instructions (bench/instructions --profile). Debug builds,
# which `make test` runs, keep them, so a violation on a tested path still traps there.
# Every release build goes through here (bench/ scripts call `make build-release PRODUCT=…`): a
# build with other flags would rebuild every module of the others.
RELEASE_FLAGS ?= -Xswiftc -enforce-exclusivity=unchecked
PRODUCT ?= switchboard

build-release:
	$(SWIFT) build -c release $(RELEASE_FLAGS) --product $(PRODUCT)

test: system-deps test-deps python-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	$(PYTHON) -m pytest -q Tests/e2e
	@# The build users run (release flags, static runtime) passes the same end-to-end suite: a
	@# release-only crash (image fetches) once passed every debug test.
	$(SWIFT) build -c release $(RELEASE_FLAGS)
	SWITCHBOARD_BIN_DIR=$(CURDIR)/.build/release $(PYTHON) -m pytest -q Tests/e2e

deps: system-deps test-deps python-deps

# Installs the C libraries when their headers are missing (root on Debian; sudo otherwise).
system-deps:
	@if [ ! -f /usr/include/lua5.4/lua.h ] || [ ! -f /usr/include/openssl/hmac.h ] || [ ! -f /usr/include/yaml.h ] || ! command -v pkg-config >/dev/null; then \
		echo "installing liblua5.4-dev libssl-dev libyaml-dev pkg-config"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq liblua5.4-dev libssl-dev libyaml-dev pkg-config >/dev/null; \
	fi

# What only the tests run: Redis (Tests/RedisClientTests, Tests/e2e/test_replicas.py) and HAProxy in
# front of several replicas (test_replicas.py); the tests start and stop them on loopback. Chromium
# and its driver: the console page driven in a headless browser (test_console.py).
test-deps:
	@if ! command -v redis-server >/dev/null || ! { command -v haproxy || [ -x /usr/sbin/haproxy ]; } >/dev/null \
		|| ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		echo "installing redis-server haproxy chromium chromium-driver"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq redis-server haproxy chromium chromium-driver >/dev/null; \
	fi

python-deps:
	@$(PYTHON) -c "import openai, anthropic, pytest, prometheus_client, kubernetes_validate, yaml, opentelemetry.proto, selenium" 2>/dev/null || $(PYTHON) -m pip install -q -r Tests/e2e/requirements.txt
