# Thin wrapper: the real work is in meson.build and scripts/.
#   make run    install missing packages, build (release), start tetherd on 127.0.0.1:8080
#   make test   install missing packages, build twice (release + ASan/UBSan), run every suite
#   make bench  build (release) and run the benchmarks; results in bench/results/latest.{json,md}
#   make build  just build (release) into build/
#   make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage]  build/ re-pointed at PREFIX, then
#               meson install (with sudo when not root and no DESTDIR); see docs/install.md
#   make torture      minutes: 120 kill -9 of tetherd, 150 of a libtether app, disk full, I/O
#                     errors, 50 convergence seeds under network faults (scripts/torture.sh)
#   make convergence  only the convergence seeds: make convergence SEEDS=200 [OPS=150]
#   make soak         900 native + 100 HTTP clients syncing for 10 min (SOAK_SECONDS=...):
#                     errors, p99 latency, tetherd's RSS and fd slopes
#   make fuzz   build the libFuzzer targets (clang, build-fuzz/) and run each; see scripts/fuzz.sh
#               e.g. make fuzz FUZZ_SECONDS=600 FUZZ_PARALLEL=2, make fuzz FUZZ_TARGETS=codec FUZZ_RUNS=10000000
#   make tsan   ThreadSanitizer + clang -Werror=thread-safety build (build-tsan/), then the server
#               and client suites with any TSan report failing the run; see scripts/tsan.sh
#               e.g. make tsan TSAN_SUITES="net sync client"
.PHONY: run test build bench deps clean torture convergence soak fuzz tsan install

PREFIX ?= /usr/local

deps:
	@scripts/install-deps.sh

build: deps
	@[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
	@ninja -C build >build/build.log 2>&1 || { tail -40 build/build.log; exit 1; }

install: deps
	@[ -f build/build.ninja ] || meson setup build --buildtype=release --prefix=$(PREFIX) >/dev/null
	@meson configure build -Dprefix=$(PREFIX) >/dev/null
	@ninja -C build >build/build.log 2>&1 || { tail -40 build/build.log; exit 1; }
	@$(if $(DESTDIR),,$(if $(filter 0,$(shell id -u)),,sudo)) meson install -C build --no-rebuild \
	  $(if $(DESTDIR),--destdir $(DESTDIR))

run: build
	./build/server/tetherd serve --listen 127.0.0.1:8080 --data-dir ./tether-data

bench: build
	TETHERD_BIN=$(CURDIR)/build/server/tetherd TETHER_TEST_TMP=$(CURDIR)/build/bench-tmp \
	  TETHER_HAPROXY_CFG=$(CURDIR)/docs/scale-out/haproxy.cfg \
	  ./build/bench/tether_bench --out bench/results

torture: deps
	@scripts/torture.sh

soak: build
	TETHERD_BIN=$(CURDIR)/build/server/tetherd TETHER_TEST_TMP=$(CURDIR)/build/tests/tmp \
	  SOAK_SECONDS=$(or $(SOAK_SECONDS),600) ./build/tests/torture/tether_soak

convergence: deps
	@SEEDS=$(or $(SEEDS),50) scripts/torture.sh convergence

test: deps
	@scripts/run-tests.sh

fuzz:
	@scripts/install-deps.sh fuzz
	@scripts/fuzz.sh

tsan:
	@scripts/tsan.sh

clean:
	rm -rf build build-asan build-fuzz build-tsan
