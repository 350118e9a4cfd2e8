"""python3 -m dsignsgd.launch: N processes that find each other, exit codes, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys, torch, torch.distributed as dist
    from dsignsgd.launch import init_process_group
    rank, world = init_process_group()
    t = torch.tensor([float(rank + 1)])
    dist.all_reduce(t)
    print(f"rank {rank} of {world}: sum {t.item():g}", flush=True)
    dist.barrier()
    dist.destroy_process_group()
    sys.exit(int(sys.argv[1]) if rank == int(sys.argv[2]) else 0)
""")


def launch(tmp_path, n, code=0, failing_rank=-1, extra=()):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    return subprocess.run([sys.executable, "-m", "dsignsgd.launch", "-n", str(n), *extra,
                           str(script), str(code), str(failing_rank)],
                          capture_output=True, text=True, timeout=120, env=os.environ)


def test_every_rank_joins_the_group(tmp_path):
    out = launch(tmp_path, 3)
    assert out.returncode == 0, out.stderr
    for rank in range(3):
        assert f"rank {rank} of 3: sum 6" in out.stdout


def test_a_failing_rank_gives_its_exit_code(tmp_path):
    out = launch(tmp_path, 2, code=3, failing_rank=1)
    assert out.returncode == 3, out.stderr


def test_bad_process_count_is_refused_with_exit_code_2(tmp_path):
    out = launch(tmp_path, 0)
    assert out.returncode == 2 and "invalid -n 0: must be >= 1" in out.stderr


def test_init_without_the_launcher_says_how_to_start(tmp_path):
    script = tmp_path / "alone.py"
    script.write_text("from dsignsgd.launch import init_process_group\ninit_process_group()\n")
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "MASTER_ADDR",
                                                             "MASTER_PORT")}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
    assert out.returncode != 0 and "python3 -m dsignsgd.launch -n N" in out.stderr


STUBBORN = textwrap.dedent("""
    import os, signal, sys, time
    rank = int(os.environ["RANK"])
    if rank == 0:
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a rank that ignores being told to stop
    time.sleep(120)
""")


def test_a_killed_rank_gives_128_plus_its_signal_and_a_stubborn_one_is_killed(tmp_path,
                                                                              monkeypatch):
    """Issue 30 D31: SIGKILL is 137 as a shell says (not 247), and a rank that ignores SIGTERM
    is killed after the grace period instead of being waited for."""
    import time
    from dsignsgd import launch as launcher

    script = tmp_path / "stubborn.py"
    script.write_text(STUBBORN)
    monkeypatch.setattr(launcher, "STOP_GRACE_SECONDS", 1.0)
    start = time.monotonic()
    code = launcher.launch(2, [sys.executable, str(script)])
    assert code == 137
    assert time.monotonic() - start < 30


def test_bad_timeouts_are_refused_with_exit_code_2(tmp_path):
    for value in ("nan", "-1", "0", "inf"):
        out = launch(tmp_path, 1, extra=("--timeout", value))
        assert out.returncode == 2 and f"invalid --timeout" in out.stderr, (value, out.stderr)
