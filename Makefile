# trl-host: the README's commands. `make demo` and `make test` install what is missing, build, and run.
# TORCH=pip: build against LibTorch 2.x from the torch wheel of the reference environment (build/venvs/trl,
# made by scripts/python-env.sh trl) instead of Debian's 1.13, in its own folder (docs/torch2.md).
TORCH ?= system
ifeq ($(TORCH),pip)
BUILD ?= build-torch2
endif
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release
CCACHE := $(shell command -v ccache 2>/dev/null)
ifneq ($(CCACHE),)
CMAKE_FLAGS += -DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE)
endif
DEMO_MODEL ?= examples/models/tiny

.PHONY: all deps build test test-fast demo bench fuzz asan-test install clean parity

all: build

# fuzz: clang for the fuzz smoke test (ctest label `fuzz`) that `make test` runs; test: node and npm for
# the tokenizer parity test. The demo needs neither.
deps:
	@scripts/install-deps.sh build fuzz test

$(BUILD)/CMakeCache.txt:
ifeq ($(TORCH),pip)
	venv=$$(scripts/python-env.sh trl build) && \
	torch_dir=$$("$$venv/bin/python" -c 'import importlib.util as u; print(u.find_spec("torch").submodule_search_locations[0])') && \
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DTRL_TORCH=pip "-DTRL_TORCH_PIP_DIR=$$torch_dir"
else
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
endif

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# Every test, slow end-to-end ones included (ctest label `slow`).
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Everything but the slow label, for the edit-compile loop.
test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE slow

# Only what the demo runs: the host, the SDK and the three shipped plugins (not the tests or benchmarks).
DEMO_TARGETS ?= trl-host dpo bema gfpo
demo:
	@scripts/install-deps.sh build
	$(MAKE) $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target $(DEMO_TARGETS)
	scripts/demo.sh $(BUILD)

# trl-host vs three PyTorch peers (tuned PyTorch 2.x, real TRL, TRL-style eager; bench/README.md): builds
# only trl-host and trl_bench, makes the PyPI environment of the peers, writes bench/results.json.
# BENCH_PRESETS, BENCH_STEPS, BENCH_WARMUP, BENCH_ROUNDS, BENCH_THREADS, BENCH_PEERS tune it.
bench:
	@scripts/install-deps.sh bench
	$(MAKE) $(BUILD)/CMakeCache.txt
	scripts/bench.sh $(BUILD)

# trl-host side by side with TRL/transformers/PEFT (docs/parity.md): downloads the pinned reference environments
# into $(BUILD)/venvs the first time (several GB, cached), runs every case, writes $(BUILD)/parity/report.json.
parity:
	scripts/parity.sh $(BUILD)

# Each libFuzzer target of tests/fuzz/ for FUZZ_SECONDS (ASan + UBSan; docs/reliability.md).
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/install-deps.sh build fuzz
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

# The fast suite under AddressSanitizer + UndefinedBehaviorSanitizer, in its own build dir (docs/reliability.md).
# -O1 as the sanitizers' docs advise: good stack traces, and a shorter compile of ~230 units than -O3.
asan-test: deps
	cmake -S . -B build-asan $(CMAKE_FLAGS) -DTRL_SANITIZE=address,undefined -DTRL_BUILD_BENCH=OFF \
	  "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELEASE=-O1 -DNDEBUG"
	bash -c '. tests/sanitizers/env.sh && cmake --build build-asan -j $(JOBS) && cd build-asan && ctest --output-on-failure -j $(JOBS) -LE "slow|fuzz"'

install: build
	cmake --install $(BUILD) --prefix $(or $(PREFIX),/usr/local)

clean:
	rm -rf $(BUILD)
