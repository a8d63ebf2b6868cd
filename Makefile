# The two entry points: `make demo` (the main job) and `make test` (the test suite).
# Both install missing Debian packages when run as root, configure and build first.
BUILD ?= build
JOBS ?= $(shell nproc)
OUT ?= out/demo

.PHONY: all setup configure build demo test test-asan fuzz bench clean

all: build

setup:
	@bash scripts/setup.sh

configure: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@bash scripts/demo.sh $(BUILD)/genphys $(OUT)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The physics core and the CLI without LibTorch, under ASan + UBSan (a second build folder).
ASAN_BUILD ?= build-asan
test-asan: setup
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGENPHYS_WITH_TORCH=OFF -DGENPHYS_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  ctest --output-on-failure -j $(JOBS) -E notebooks

# libFuzzer targets (tests/fuzz) under ASan + UBSan, built with clang in a third build folder:
# each runs FUZZ_SECONDS on its seed corpus (tests/fuzz/run_fuzzers.sh); FUZZ_TARGETS picks some.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz:
	@bash scripts/setup.sh fuzz
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGENPHYS_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(if $(FUZZ_TARGETS),$(FUZZ_TARGETS),fuzz_targets)
	@bash tests/fuzz/run_fuzzers.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# genphys against its PyTorch twin (bench/run_bench.py): medians and ratios, interleaved runs.
bench: configure
	@cmake --build $(BUILD) -j $(JOBS) --target ddpmpp_bench
	@/usr/bin/python3 bench/run_bench.py --bench $(BUILD)/ddpmpp_bench $(BENCH_ARGS)

clean:
	rm -rf $(BUILD)
