# trl-host: the README's commands. `make demo` and `make test` install what is missing, build, and run.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release
CCACHE := $(shell command -v ccache 2>/dev/null)
ifneq ($(CCACHE),)
CMAKE_FLAGS += -DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE)
endif
DEMO_MODEL ?= examples/models/tiny

.PHONY: all deps build test test-fast demo bench fuzz install clean

all: build

deps:
	@scripts/install-deps.sh build

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# Every test, slow end-to-end ones included (ctest label `slow`).
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Everything but the slow label, for the edit-compile loop.
test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE slow

demo: build
	scripts/demo.sh $(BUILD)

bench:
	@scripts/install-deps.sh bench
	$(MAKE) build
	scripts/bench.sh $(BUILD)

fuzz:
	@scripts/install-deps.sh build fuzz
	scripts/fuzz.sh

install: build
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

clean:
	rm -rf $(BUILD)
