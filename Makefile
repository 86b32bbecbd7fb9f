# Thin wrapper: the real work is in meson.build and scripts/.
#   make run    install missing packages, build (release), start tetherd on 127.0.0.1:8080
#   make test   install missing packages, build twice (release + ASan/UBSan), run every suite
#   make bench  build (release) and run the benchmarks; results in bench/results/latest.{json,md}
#   make build  just build (release) into build/
.PHONY: run test build bench deps clean

deps:
	@scripts/install-deps.sh

build: deps
	@[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
	@ninja -C build >build/build.log 2>&1 || { tail -40 build/build.log; exit 1; }

run: build
	./build/server/tetherd serve --listen 127.0.0.1:8080 --data-dir ./tether-data

bench: build
	TETHERD_BIN=$(CURDIR)/build/server/tetherd TETHER_TEST_TMP=$(CURDIR)/build/bench-tmp \
	  TETHER_HAPROXY_CFG=$(CURDIR)/docs/scale-out/haproxy.cfg \
	  ./build/bench/tether_bench --out bench/results

test: deps
	@scripts/run-tests.sh

clean:
	rm -rf build build-asan
