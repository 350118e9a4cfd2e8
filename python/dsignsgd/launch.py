"""Start N local processes of a PyTorch distributed script (Debian's torchrun fails under
Python 3.11; this needs nothing but the standard library).

    python3 -m dsignsgd.launch -n 4 train.py --epochs 1

Each process gets RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT;
in the script, dsignsgd.launch.init_process_group() (or torch.distributed.init_process_group
with init_method="env://") joins them. Under mpirun, init_process_group() reads Open MPI's
OMPI_COMM_WORLD_RANK / OMPI_COMM_WORLD_SIZE instead (MASTER_ADDR and MASTER_PORT must be set).
When one process fails the others are stopped (SIGTERM, then SIGKILL after 10 s) and its exit
code is returned — 128 + N for a process ended by signal N, as a shell reports it; Ctrl-C stops
all.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import signal
import socket
import subprocess
import sys
import time
from typing import List, Optional


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def init_process_group(backend: str = "gloo",
                       timeout: datetime.timedelta = datetime.timedelta(seconds=60)):
    """Joins the process group from the launcher's (or Open MPI's) environment variables."""
    import torch.distributed as dist

    env = os.environ
    if "RANK" not in env and "OMPI_COMM_WORLD_RANK" in env:
        env["RANK"] = env["OMPI_COMM_WORLD_RANK"]
        env["WORLD_SIZE"] = env["OMPI_COMM_WORLD_SIZE"]
        env.setdefault("LOCAL_RANK", env.get("OMPI_COMM_WORLD_LOCAL_RANK", "0"))
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        if name not in env:
            raise RuntimeError(f"{name} is not set: start the script with "
                               "`python3 -m dsignsgd.launch -n N script.py` or mpirun")
    dist.init_process_group(backend, init_method="env://", timeout=timeout)
    return dist.get_rank(), dist.get_world_size()


# How long a process told to stop (SIGTERM) may take before it is killed.
STOP_GRACE_SECONDS = 10.0


def exit_code(rc: int) -> int:
    """A child's return code as a shell reports it: 128 + N for death by signal N."""
    return 128 - rc if rc < 0 else rc


def launch(nprocs: int, command: List[str], port: Optional[int] = None,
           timeout: Optional[float] = None) -> int:
    """Runs `command` nprocs times with the distributed environment; returns the first non-zero
    exit code (or 0; 128 + N for a process ended by signal N). `timeout` in seconds bounds the
    whole run (then exit code 124). Processes told to stop get SIGTERM, then SIGKILL after
    STOP_GRACE_SECONDS."""
    if nprocs < 1:
        raise ValueError(f"invalid -n {nprocs}: must be >= 1")
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"invalid --timeout {timeout}: must be a positive number of seconds")
    port = port or free_port()
    procs = []
    for rank in range(nprocs):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(nprocs),
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen(command, env=env))
    deadline = None if timeout is None else time.monotonic() + timeout
    code, kill_at = 0, None
    try:
        while procs:
            for p in list(procs):
                rc = p.poll()
                if rc is None:
                    continue
                procs.remove(p)
                if rc != 0 and code == 0:
                    code = exit_code(rc)
                    kill_at = time.monotonic() + STOP_GRACE_SECONDS
                    for other in procs:
                        other.terminate()
            if kill_at is not None and time.monotonic() > kill_at:
                for other in procs:  # ignored SIGTERM
                    other.kill()
            if deadline is not None and time.monotonic() > deadline and procs:
                print(f"dsignsgd.launch: stopped after {timeout} s", file=sys.stderr)
                code = code or 124
                for other in procs:
                    other.kill()
            time.sleep(0.05)
    except KeyboardInterrupt:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        return 130
    return code


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m dsignsgd.launch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--nprocs", type=int, required=True, help="number of processes")
    parser.add_argument("--port", type=int, default=None, help="MASTER_PORT (default: a free one)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="stop every process after this many seconds (exit code 124)")
    parser.add_argument("--module", "-m", action="store_true",
                        help="the script is a module name (python3 -m MODULE)")
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    a = parser.parse_args(argv)
    if a.nprocs < 1:
        parser.error(f"invalid -n {a.nprocs}: must be >= 1")
    if a.timeout is not None and not (math.isfinite(a.timeout) and a.timeout > 0):
        parser.error(f"invalid --timeout {a.timeout}: must be a positive number of seconds")
    command = [sys.executable] + (["-m"] if a.module else []) + [a.script] + a.args
    return launch(a.nprocs, command, a.port, a.timeout)


if __name__ == "__main__":
    sys.exit(main())
