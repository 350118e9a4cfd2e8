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
                python3-matplotlib help2man python3-pip python3-venv python3-setuptools \
                python3-wheel python3-nbconvert python3-ipykernel

.PHONY: all deps configure build run test test-unit install package bench bench-cluster bench-hooks quantizer-grid sanitize sanitize-all tsan fuzz format clean
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

# The CLI, the library, headers, CMake package, pkg-config file, man page, docs and the Python
# package under PREFIX (docs/INSTALL.md).
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

# dsignsgd_<version>_amd64.deb in $(BUILD_DIR) (CPack; docs/INSTALL.md).
package: build
	cd $(BUILD_DIR) && cpack -G DEB

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

# The DDP hooks against PyTorch's own (allreduce, fp16, PowerSGD ranks 1/2/4) on a 5.8 M-parameter
# MLP on Fashion-MNIST (issue 27; docs/BENCHMARKS.md "DDP hooks against PyTorch's"): the same
# learning-rate grid and rule for every hook at N = 2, steps to target (two seeds), time per step
# across 2 and 4 emulated hosts (root), tables and figure. About 2.5 hours on 2 cores.
HOOK_RESULTS ?= bench/results/hooks
HOOK_WORKLOAD ?= fashion-mlp
HOOK_LIST ?= allreduce,torch-fp16,powersgd-r1,powersgd-r2,powersgd-r4,dsignsgd,majority,ef-signsgd,qsgd
HOOK_BENCH = PYTHONPATH=$(BUILD_DIR)/python /usr/bin/python3 -m dsignsgd.launch -n 2 bench/hook_bench.py
bench-hooks: build
	@scripts/install_deps.sh python3-torchvision python3-matplotlib
	mkdir -p $(HOOK_RESULTS)
	$(HOOK_BENCH) train --workload $(HOOK_WORKLOAD) --hooks $(HOOK_LIST) --steps 300 --prune \
	    --lr 3e-6,1e-5,3e-5,1e-4,3e-4,1e-3,3e-3,1e-2,3e-2,0.1 --out $(HOOK_RESULTS)/$(HOOK_WORKLOAD)-tune.jsonl
	/usr/bin/python3 bench/hook_report.py --tune $(HOOK_RESULTS)/$(HOOK_WORKLOAD)-tune.jsonl \
	    --lr-out $(HOOK_RESULTS)/$(HOOK_WORKLOAD)-lr.txt
	$(HOOK_BENCH) train --workload $(HOOK_WORKLOAD) --hooks $(HOOK_LIST) --seeds 1,2 --steps 2000 \
	    --eval-every 50 --stop-at-target --target 0.88 --lr-file $(HOOK_RESULTS)/$(HOOK_WORKLOAD)-lr.txt \
	    --out $(HOOK_RESULTS)/$(HOOK_WORKLOAD)-target.jsonl
	/usr/bin/python3 bench/hook_cluster.py --workload $(HOOK_WORKLOAD) --hooks $(HOOK_LIST) \
	    --hosts 2 4 --rates 100mbit 1gbit --steps 6 --repeats 2 --out $(HOOK_RESULTS)/$(HOOK_WORKLOAD)-time.jsonl
	PYTHONPATH=$(BUILD_DIR)/python /usr/bin/python3 bench/hook_report.py --tune $(HOOK_RESULTS)/$(HOOK_WORKLOAD)-tune.jsonl \
	    --target $(HOOK_RESULTS)/$(HOOK_WORKLOAD)-target.jsonl --target-value 0.87 \
	    --time $(HOOK_RESULTS)/$(HOOK_WORKLOAD)-time.jsonl --predict \
	    --figure docs/figures/hooks_$(subst -,_,$(HOOK_WORKLOAD)).png

# Issue 26: predict's QSGD/natural floor against long simulations over the whole grid (about
# 15 minutes here; docs/THEORY.md §3 has the numbers).
quantizer-grid: build
	mkdir -p bench/results
	/usr/bin/python3 bench/quantizer_floor_grid.py --cli build/apps/dsignsgd/dsignsgd \
	    --out bench/results/quantizer_floor_grid.csv

# Address + undefined-behaviour sanitizer build with clang, shared with the fuzzers (make fuzz):
# the unit suite must pass under it. Without the libtorch component: an uninstrumented libtorch
# under ASan reports its own allocations. -O1: Eigen at -O0 under ASan makes the suite ~10×
# slower; assertions stay on (no NDEBUG). The core library static, as the fuzzers' coverage
# instrumentation expects it in the executable.
SANITIZE_CONFIGURE = cmake -S . -B build-asan -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DDSIGNSGD_SANITIZE=ON -DDSIGNSGD_FUZZ=ON \
    -DDSIGNSGD_WITH_TORCH=OFF -DDSIGNSGD_BUILD_BENCH=OFF -DDSIGNSGD_SHARED=OFF
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
	    -DDSIGNSGD_BUILD_BENCH=OFF -DDSIGNSGD_SHARED=OFF
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
