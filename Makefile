# Two commands for a fresh Debian 12 machine (as root, or with sudo):
#   make run   installs what is missing, builds in Release, runs the main job
#   make test  installs what is missing, builds, runs the whole CTest suite
BUILD_DIR ?= build
JOBS      ?= $(shell nproc)
OUT       ?= results/compare
DEB_PACKAGES := cmake make g++ pkg-config libeigen3-dev libboost-math-dev libcli11-dev \
                nlohmann-json3-dev libfmt-dev googletest libgtest-dev libbenchmark-dev \
                libopenmpi-dev openmpi-bin zlib1g-dev gnuplot-nox \
                libtorch-dev libopenblas0-pthread bible-kjv \
                pybind11-dev python3-dev python3-torch python3-numpy python3-pytest python3-pandas \
                python3-matplotlib

.PHONY: all deps configure build run test test-unit bench bench-cluster sanitize sanitize-all tsan fuzz format clean
all: build

deps:
	@scripts/install_deps.sh $(DEB_PACKAGES)
	@scripts/install_data.sh data

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/apps/dsignsgd/dsignsgd compare --out $(OUT) --force
	$(BUILD_DIR)/apps/dsignsgd/dsignsgd reproduce all --quick --out results/reproduce --force

# What only the tests need: headless Chromium renders the reproduction report (report_browser).
TEST_PACKAGES := chromium

test: build
	@scripts/install_deps.sh $(TEST_PACKAGES)
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

test-unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -L unit

bench: build
	@scripts/install_deps.sh python3-numpy
	$(BUILD_DIR)/apps/dsignsgd/dsignsgd bench --dim 10000000
	$(BUILD_DIR)/bench/dsignsgd_bench
	if [ -x $(BUILD_DIR)/bench/dsignsgd_torch_bench ]; then $(BUILD_DIR)/bench/dsignsgd_torch_bench; fi
	/usr/bin/python3 bench/sde_throughput.py --binary $(BUILD_DIR)/apps/dsignsgd/dsignsgd

# When does compression pay off: time per step across 2 and 4 emulated hosts (network namespaces,
# root) at 10 Gbit/s, 1 Gbit/s and 100 Mbit/s, steps to target in process, tables, figure and the
# α-β model's error (docs/BENCHMARKS.md). About 40 minutes on 2 cores.
CLUSTER_RESULTS ?= bench/results
bench-cluster: build
	@scripts/install_deps.sh gnuplot-nox
	/usr/bin/python3 bench/cluster_bench.py --binary $(BUILD_DIR)/apps/dsignsgd/dsignsgd \
	    --out $(CLUSTER_RESULTS)/cluster_quadratic
	/usr/bin/python3 bench/steps_to_target.py --binary $(BUILD_DIR)/apps/dsignsgd/dsignsgd \
	    --workload quadratic --out $(CLUSTER_RESULTS)/steps_quadratic.csv
	/usr/bin/python3 bench/cluster_report.py --time $(CLUSTER_RESULTS)/cluster_quadratic/time_per_step.csv \
	    --steps $(CLUSTER_RESULTS)/steps_quadratic.csv --figure $(CLUSTER_RESULTS)/cluster_quadratic.png
	# The rates the emulated links carried for one 4 MB MPI message on this machine kind
	# (bench/comm_bench.cpp between 2 emulated hosts; docs/BENCHMARKS.md).
	$(BUILD_DIR)/apps/dsignsgd/dsignsgd speedup --dim 1000000 --noise gaussian:1 --lr 0.01 \
	    --shared-machine --hosts 2,4 --rates 10gbit,1gbit,100mbit --latency-us 50 \
	    --effective 100mbit=95mbit,1gbit=810mbit,10gbit=2390mbit \
	    --check $(CLUSTER_RESULTS)/cluster_quadratic/time_per_step.csv

# Address + undefined-behaviour sanitizer build with clang, shared with the fuzzers (make fuzz):
# the unit suite must pass under it. Without the libtorch component: an uninstrumented libtorch
# under ASan reports its own allocations. -O1: Eigen at -O0 under ASan makes the suite ~10×
# slower; assertions stay on (no NDEBUG).
SANITIZE_CONFIGURE = cmake -S . -B build-asan -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DDSIGNSGD_SANITIZE=ON -DDSIGNSGD_FUZZ=ON \
    -DDSIGNSGD_WITH_TORCH=OFF -DDSIGNSGD_BUILD_BENCH=OFF
sanitize: deps
	@scripts/install_deps.sh clang-14 libclang-rt-14-dev
	$(SANITIZE_CONFIGURE)
	cmake --build build-asan -j $(JOBS) --target unit_tests cli_tests hostile_input_tests
	cd build-asan && ctest --output-on-failure -j $(JOBS) -L unit $(SANITIZE_EXCLUDE)

# Under the sanitizers the reproduce experiments and the recipes' full trainings take ~12 of
# the suite's 17 minutes while running the code the other unit tests run, and the longest
# statistical checks (30-100 s each under ASan: long simulations of code that shorter tests
# already drive) another ~4; make sanitize-all includes them.
SANITIZE_EXCLUDE ?= -E '^(Reproduce|Recipes)\.|^(ValidateVerdict\.HoldsItsErrorRate|DriftCorrection\.StabilityDrift|AgentScales\.|Predict\.L0L1StepBound|MajorityVote\.FairCoin|OrnsteinUhlenbeck\.)|WeakErrorOrder.*majority|FloorRule\.RestoresTheBaseFloorInSimulation/case0'
sanitize-all:
	$(MAKE) sanitize SANITIZE_EXCLUDE=

# ThreadSanitizer build: the unit suite (the threaded ensemble, threads of agents and runs) must
# pass with no data race reported: 153 tests, 22 min on 2 cores (docs/VALIDATION.md). Not in
# .ci/run for its length.
tsan: deps
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDSIGNSGD_TSAN=ON -DDSIGNSGD_WITH_TORCH=OFF \
	    -DDSIGNSGD_BUILD_BENCH=OFF
	cmake --build build-tsan -j $(JOBS) --target unit_tests
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build-tsan/tests/unit_tests

# libFuzzer targets (fuzz/), one per parser, each run FUZZ_SECONDS from its seed corpus
# (fuzz/corpus/); fails on any crash, leak, hang or sanitizer report (docs/VALIDATION.md).
FUZZ_SECONDS ?= 60
fuzz: deps
	@scripts/install_deps.sh clang-14 libclang-rt-14-dev
	$(SANITIZE_CONFIGURE)
	cmake --build build-asan -j $(JOBS) --target fuzz_targets
	scripts/run_fuzzers.sh build-asan/fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD_DIR) build-asan build-tsan

format:
	find src include apps tests bench examples -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i
