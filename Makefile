# Two commands do everything on a fresh Debian machine: `make run` and `make test`.
BUILD ?= build
SAN_BUILD ?= build-sanitize
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release -DLLMGPS_WERROR=ON

.PHONY: all setup build run test bench test-sanitize fuzz format format-check golden clean

all: build

setup:
	@bash scripts/setup

$(BUILD)/build.ninja: | setup
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The main job on a built-in default: one Mixtral-8x7B prefill step on 4x A100 (NVLink 3).
run: build
	./$(BUILD)/llmgps estimate --model mixtral-8x7b --system 4x-a100-nvlink3 --batch 1 --seq 512 --phase prefill --dtype fp16

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	./$(BUILD)/bench/llmgps_bench --benchmark_min_time=0.5

test-sanitize: setup
	cmake -S . -B $(SAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
	  -DLLMGPS_SANITIZE=ON -DLLMGPS_WERROR=ON -DLLMGPS_BENCH=OFF
	cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# libFuzzer on every parser for FUZZ_SECONDS each, seeded from the real files; a crash leaves its
# input in $(FUZZ_BUILD)/crashes/ (turn it into a case under tests/bad-inputs).
fuzz: setup
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLMGPS_FUZZ=ON \
	  -DLLMGPS_TESTS=OFF -DLLMGPS_BENCH=OFF -DLLMGPS_CUDA=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	bash scripts/fuzz-run $(FUZZ_BUILD) $(FUZZ_SECONDS)

FORMAT_FILES = $$(git ls-files '*.cpp' '*.hpp' '*.cu' '*.cuh')

# Rewrites every golden file (tests/golden) from the current build; review the diff before committing.
golden: build
	LLMGPS_UPDATE_GOLDEN=1 $(BUILD)/tests/llmgps_tests --gtest_filter='Golden.*:EstimateReport.*'

format:
	clang-format -i $(FORMAT_FILES)

# Fails on any file clang-format would change (.clang-format: Google style, 100 columns).
format-check: setup
	clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)
