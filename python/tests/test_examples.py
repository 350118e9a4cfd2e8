"""The Python examples run as documented (short versions: the measured ones are in
docs/PYTHON.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

EXAMPLES = os.environ.get("DSIGNSGD_EXAMPLES", "")
DATA = os.environ.get("DSIGNSGD_DATA_DIR", "data")
HAVE_MNIST = os.path.exists(os.path.join(DATA, "mnist", "train-images-idx3-ubyte"))


def launch(n, script, *args):
    return subprocess.run([sys.executable, "-m", "dsignsgd.launch", "-n", str(n), "--timeout",
                           "300", os.path.join(EXAMPLES, script), *args],
                          capture_output=True, text=True, timeout=400)


@pytest.mark.skipif(not HAVE_MNIST, reason="no MNIST in the data directory")
def test_ddp_mnist_example_trains_with_each_kind_of_hook(tmp_path):
    out = tmp_path / "ddp.json"
    run = launch(2, "torch_ddp_mnist.py", "--data-dir", DATA, "--steps", "30",
                 "--hooks", "allreduce,majority,ef-signsgd,randk,fp16", "--out", str(out))
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(out.read_text())["results"]
    assert [r["hook"] for r in results] == ["allreduce", "majority", "ef-signsgd", "randk", "fp16"]
    for r in results:
        assert 0.1 < r["test_accuracy"] <= 1.0 and r["seconds_per_step"] > 0
    assert results[1]["compression_rate"] == pytest.approx(32.0, rel=0.01)  # 1 bit, N = 2


@pytest.mark.skipif(not HAVE_MNIST, reason="no MNIST in the data directory")
def test_ddp_mnist_example_refuses_an_unknown_hook():
    run = launch(1, "torch_ddp_mnist.py", "--hooks", "nosuch")
    assert run.returncode == 2 and "invalid --hooks entry 'nosuch'" in run.stderr


@pytest.mark.skipif(not HAVE_MNIST, reason="no MNIST in the data directory")
def test_svag_example_runs_both_rules(tmp_path):
    out = tmp_path / "svag.json"
    run = launch(2, "torch_svag.py", "--data-dir", DATA, "--steps", "10", "--log-every", "5",
                 "--ells", "1,2", "--out", str(out))
    assert run.returncode == 0, run.stderr[-2000:]
    data = json.loads(out.read_text())
    assert [(r["rule"], r["ell"]) for r in data["results"]] == [
        ("sgd", 1), ("sgd", 2), ("sign", 1), ("sign", 2)]
    assert all(len(r["loss"]) == 3 for r in data["results"])


def test_sde_overlay_example_draws_its_figure(tmp_path):
    figure = tmp_path / "overlay.png"
    run = subprocess.run([sys.executable, os.path.join(EXAMPLES, "python_sde_overlay.py"),
                          "--runs", "16", "--out", str(figure)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert figure.stat().st_size > 10000
    assert "predicted" in run.stdout
