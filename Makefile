# The two entry points: `make demo` (the main job) and `make test` (the test suite).
# Both install missing Debian packages when run as root, configure and build first.
BUILD ?= build
JOBS ?= $(shell nproc)
OUT ?= out/demo

.PHONY: all setup configure build demo test clean

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

clean:
	rm -rf $(BUILD)
