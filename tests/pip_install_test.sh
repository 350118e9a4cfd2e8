#!/usr/bin/env bash
# Issue 29: `pip install .` into a fresh venv (--system-site-packages for Debian's torch and
# NumPy; no network: --no-build-isolation --no-index), then, from another directory and without
# PYTHONPATH: import dsignsgd and dsignsgd.torch, call predict, run the `dsignsgd` command, and run
# a two-process DDP step with the majority-vote hook under the launcher.
# Usage: pip_install_test.sh BUILD_DIR SOURCE_DIR (BUILD_DIR's targets are reused: DSIGNSGD_BUILD_DIR)
set -euo pipefail
build=$(cd "$1" && pwd) source=$(cd "$2" && pwd)
scratch=$(mktemp -d /tmp/dsignsgd-pip.XXXXXX)
trap 'rm -rf "$scratch"' EXIT INT TERM
source "$(dirname "$0")/install_support.sh"
unset PYTHONPATH

/usr/bin/python3 -m venv --system-site-packages "$scratch/venv"
python=$scratch/venv/bin/python
DSIGNSGD_BUILD_DIR=$build "$python" -m pip install --no-build-isolation --no-index "$source" \
    > "$scratch/pip.log" 2>&1 || { tail -n 40 "$scratch/pip.log"; fail "pip install"; }
echo "pip install: $(grep -o 'Successfully installed.*' "$scratch/pip.log")"

mkdir "$scratch/elsewhere" && cd "$scratch/elsewhere"
"$python" - "$scratch/venv" <<'PY'
import sys
import dsignsgd, dsignsgd.torch
venv = sys.argv[1]
assert dsignsgd.__file__.startswith(venv), dsignsgd.__file__
assert dsignsgd._core.__file__.startswith(venv), dsignsgd._core.__file__
floor = dsignsgd.predict(method="dsgd", dim=4, noise="gaussian:1", workers=2, lr=0.1)["stationary_loss"]
assert abs(floor - 4 * 0.1 / (2 * 2 * (2 - 0.1))) < 1e-9, floor
print("python: dsignsgd", dsignsgd.__version__, "from", dsignsgd.__file__, "predict", floor)
PY
version=$("$scratch/venv/bin/dsignsgd" --version) || fail "the dsignsgd command"
echo "dsignsgd command: $version"
case "$version" in 0.1.*) ;; *) fail "--version printed '$version'" ;; esac
"$scratch/venv/bin/dsignsgd" train --lr 0 > /dev/null 2>&1 && fail "bad input accepted"
[ "$("$scratch/venv/bin/dsignsgd" train --lr 0 > /dev/null 2>&1; echo $?)" = 2 ] ||
  fail "bad input: exit code is not 2"
for f in $(find "$scratch/venv" -name "_core*.so") "$scratch"/venv/lib/python3*/site-packages/dsignsgd/bin/dsignsgd; do
  loads_libdsignsgd_from "$f" "$scratch/venv" optional
done

cat > hook_step.py <<'PY'
# One DDP step of a small model with the majority-vote hook; every rank must end with the same
# parameters, and they must have moved.
import torch
import torch.distributed as dist
import dsignsgd.torch as dt
from dsignsgd.launch import init_process_group

init_process_group(backend="gloo")
torch.manual_seed(0)
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(64, 8))
before = [p.detach().clone() for p in model.parameters()]
state = dt.HookState(method="majority")
model.register_comm_hook(state, dt.compressed_hook)
torch.manual_seed(1 + dist.get_rank())
model(torch.randn(16, 64)).square().mean().backward()
torch.optim.SGD(model.parameters(), lr=0.01).step()
flat = torch.cat([p.detach().flatten() for p in model.parameters()])
gathered = [torch.empty_like(flat) for _ in range(dist.get_world_size())]
dist.all_gather(gathered, flat)
assert all(torch.equal(g, gathered[0]) for g in gathered), "ranks differ"
assert not torch.equal(flat, torch.cat([b.flatten() for b in before])), "nothing moved"
print(f"rank {dist.get_rank()}: majority-vote step ok, {state.bytes_sent} bytes sent")
dist.destroy_process_group()
PY
"$python" -m dsignsgd.launch -n 2 hook_step.py || fail "two-process hook step"
echo "pip install test passed"
