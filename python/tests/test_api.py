"""The run API from Python against the CLI: same keys, same numbers, same messages."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

import numpy as np
import pytest

import dsignsgd

CLI = os.environ.get("DSIGNSGD_CLI")
CONFIG = dict(method="dsignsgd", noise="student:3:1", workers=4, lr=0.01, steps=400,
              log_every=40, runs=8, seed=11)
print(f"seed {CONFIG['seed']}")


def test_train_returns_curves_and_the_clis_summary():
    run = dsignsgd.train(**CONFIG)
    assert run["steps"].tolist() == list(range(0, 401, 40))
    assert run["loss"].shape == (8, 11) and run["grad_norm"].shape == (8, 11)
    summary = run["summary"]
    assert summary["config"]["method"] == "dsignsgd" and summary["config"]["workers"] == 4
    assert summary["final_loss_mean"] == pytest.approx(run["loss"][:, -1].mean(), rel=1e-12)


@pytest.mark.skipif(not CLI, reason="DSIGNSGD_CLI not set")
def test_train_from_python_equals_the_cli_run_number_for_number():
    run = dsignsgd.train(**CONFIG)
    with tempfile.TemporaryDirectory() as out:
        flags = [f"--{k.replace('_', '-')}={v}" for k, v in CONFIG.items()]
        subprocess.run([CLI, "train", *flags, "--out", out], check=True, capture_output=True)
        frame = dsignsgd.read_run(out)
        summary = frame.attrs["summary"]
    assert summary["final_loss_mean"] == run["summary"]["final_loss_mean"]
    assert summary["tail_loss_mean"] == run["summary"]["tail_loss_mean"]
    assert frame["step"].tolist() == run["steps"].tolist()
    np.testing.assert_allclose(frame["loss_mean"], run["loss"].mean(axis=0), rtol=1e-5)


def test_data_problem_reports_its_extra_metrics():
    data = os.environ.get("DSIGNSGD_DATA_DIR")
    if not data or not os.path.exists(os.path.join(data, "sklearn", "digits.csv.gz")):
        pytest.skip("no data directory")
    run = dsignsgd.train(problem="digits-logreg", data_dir=data, method="dsignsgd", steps=300,
                         log_every=150, runs=1, seed=3)
    accuracy = run["extra"]["test_accuracy"]
    assert accuracy.shape == (1, 3)
    # From chance (0.1) to a trained classifier: docs/DATA.md's recipe reaches 0.95 in 2000 steps.
    assert accuracy[0, 0] < 0.3 and accuracy[0, -1] > 0.7, accuracy


def test_bad_values_raise_the_clis_message():
    with pytest.raises(ValueError, match=r"invalid --lr '0': must be > 0"):
        dsignsgd.train(lr=0)
    with pytest.raises(ValueError, match="nosuch"):
        dsignsgd.train(nosuch=1)
    with pytest.raises(ValueError, match="invalid --compressor 'randk:2'"):
        dsignsgd.predict(method="dcsgd", compressor="randk:2")
    with pytest.raises(ValueError, match="levels"):
        dsignsgd.validate(levels=0, steps=10)
    with pytest.raises(FileNotFoundError, match="metrics.csv"):
        dsignsgd.read_run("/nonexistent-run-directory")


def test_a_parse_error_names_the_keyword_at_fault_not_the_last_one():
    # Issue 30: every parse error used to say "invalid --config '<last argument>'".
    with pytest.raises(ValueError, match=r"invalid --lr '0.1,0.2'"):
        dsignsgd.train(lr=[0.1, 0.2], steps=1, runs=1)
    with pytest.raises(ValueError, match=r"invalid --steps '0x10'.*decimal"):
        dsignsgd.train(steps="0x10", runs=1)
    with pytest.raises(ValueError, match=r"invalid --help 'true'.*not settings"):
        dsignsgd.train(help=True)


def test_predict_and_simulate_sde_agree_on_the_dcsgd_floor():
    config = dict(method="dcsgd", compressor="randk:0.25", dim=10, hessian="linspace:0.5:2",
                  x0=0, noise="gaussian:1", workers=4, lr=0.01, steps=4000, runs=16, seed=5)
    predicted = dsignsgd.predict(**config)["methods"]["dcsgd"]["stationary_loss"]
    sde = dsignsgd.simulate_sde(drift_correction="none", **config)
    assert sde["summary"]["sde"]["drift_correction"] == "none"
    tail = sde["summary"]["tail_loss_mean"]
    stderr = sde["summary"]["tail_loss_stderr"]
    # The uncorrected SDE's continuous floor sits within O(ηλ) of the discrete closed form.
    assert abs(tail - predicted) <= 4 * stderr + 0.05 * predicted, (tail, stderr, predicted)


def test_validate_returns_both_curves_per_level():
    out = dsignsgd.validate(levels=2, method="dsgd", noise="gaussian:0.1", lr=0.1, steps=20,
                            runs=200, seed=2)
    assert [level["lr"] for level in out["levels"]] == [0.1, 0.05]
    for level in out["levels"]:
        assert level["algorithm"]["loss"].shape == level["sde"]["loss"].shape
    assert out["summary"]["eta"] == [0.1, 0.05]
    assert len(out["summary"]["weak_error"]) == 2


def test_scale_gives_the_clis_rules():
    rules = dsignsgd.scale({"method": "dsgd"}, {"method": "dcsgd", "compressor": "randk:0.125"})
    adjusted = {rule["adjust"] for rule in rules["rules"]}
    assert {"lr", "batch", "workers"} <= adjusted
    if CLI:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "base.toml")
            with open(path, "w") as f:
                f.write('method = "dsgd"\n')
            out = subprocess.run([CLI, "scale", "--from", path, "--change", "method=dcsgd",
                                  "--change", "compressor=randk:0.125", "--json"], check=True,
                                 capture_output=True, text=True)
        assert json.loads(out.stdout)["rules"] == rules["rules"]


def test_speedup_is_the_libraries_alpha_beta_model():
    # The α-β model from Python: the allgather's communication is (P − 1)(α + message/B), the
    # reference's ratio to itself is 1, and the configurations are the library's table.
    out = dsignsgd.speedup(configs=["dsgd-allreduce", "dsgd-allgather"], hosts=[4],
                           rates=["1gbit"], latency_us=10, measure_steps=3, dim=1000)
    assert out["command"] == "speedup" and out["dim"] == 1000
    rows = {row["config"]: row for row in out["predictions"]}
    assert rows["dsgd-allreduce"]["ratio_to_dsgd_allreduce"] == 1.0
    expected = 3 * (10e-6 + (8 + 4 * 1000) / (1e9 / 8))
    assert abs(rows["dsgd-allgather"]["communication_ms"] / 1e3 - expected) < 1e-12
    with pytest.raises(ValueError, match="--configs 'nosuch'"):
        dsignsgd.speedup(configs=["nosuch"], dim=10)


def test_speedup_of_a_torch_model_is_the_librarys_hook_model():
    # Issue 27 item 6: speedup(model, …) buckets the model's parameters as DDP does and prices
    # every hook with the library's model (the CLI's `speedup --shapes`): the same numbers.
    import subprocess
    import torch
    from dsignsgd import hook_model

    model = torch.nn.Sequential(torch.nn.Linear(300, 500), torch.nn.ReLU(), torch.nn.Linear(500, 10))
    rows = dsignsgd.speedup(model, hosts=[2, 4], rate="1gbit", step_seconds=0.02,
                            latency_us=50.0, hooks=["allreduce", "powersgd-r2", "majority"])
    assert len(rows) == 6
    shapes = "500x300,500,10x500,10"
    cli = json.loads(subprocess.run(
        [CLI, "speedup", "--shapes", shapes, "--step-seconds", "0.02", "--latency-us", "50",
         "--hosts", "2,4", "--rates", "1gbit", "--hooks", "allreduce,powersgd-r2,majority",
         "--no-codec", "--json"], check=True, capture_output=True, text=True).stdout)
    for mine, theirs in zip(rows, cli["predictions"]):
        assert (mine["hook"], mine["hosts"]) == (theirs["hook"], theirs["hosts"])
        assert mine["bytes_sent"] == theirs["bytes_sent"]
        assert mine["communication"] == pytest.approx(theirs["communication"], rel=1e-12)
        assert mine["total"] == pytest.approx(mine["compute"] + mine["codec"] +
                                              mine["communication"], rel=1e-12)
    assert hook_model.buckets_of([(500, 300), (500,), (10, 500), (10,)]) == [
        [(10,), (10, 500), (500,), (500, 300)]]
    with pytest.raises(ValueError, match="--hooks 'powersgd-r3'"):
        dsignsgd.speedup(model, hosts=2, rate="1gbit", step_seconds=0.02, hooks=["powersgd-r3"])
    with pytest.raises(ValueError, match="step_seconds"):
        dsignsgd.speedup(model, hosts=2, rate="1gbit")


def test_the_version_names_the_build_as_the_cli_does():
    # Issue 29 item 5: PEP 440 with the commit as a local label; version() is --version's line.
    import re
    import subprocess

    assert re.fullmatch(r"\d+\.\d+\.\d+\+(g[0-9a-f]{12}|unknown)", dsignsgd.__version__)
    line = subprocess.run([CLI, "--version"], check=True, capture_output=True,
                          text=True).stdout.strip()
    assert dsignsgd.version() == line
    assert dsignsgd.__version__.split("+")[0] in line and "CPU level" in line


def test_the_size_kernels_refuse_sizes_they_cannot_count():
    """Issue 30 D29: no overflow to a small number, no NaN read as "biased", no vote of nobody."""
    import numpy as np
    from dsignsgd import _core

    assert dsignsgd.wire_bytes("sign", 16) == 8 + 2
    for call in (lambda: dsignsgd.wire_bytes("identity", 2**62),
                 lambda: dsignsgd.wire_bytes("sign", 2**64 - 1),
                 lambda: _core.omega("randk:0.5", 0),
                 lambda: _core.downlink_bytes("majority", "sign", 10, 0)):
        with pytest.raises(ValueError, match="must be in \\[1, 2\\^48\\]"):
            call()
    with pytest.raises(ValueError, match="at least one agent"):
        _core.majority_vote_shard([], 0, 0, 0, 0, np.zeros(8, np.float32))


def test_methods_and_compressors_come_from_the_library_registry():
    methods = {row["name"]: row for row in dsignsgd.methods()}
    assert list(methods)[:4] == ["dsgd", "dcsgd", "dsignsgd", "majority"]
    assert methods["majority"]["aggregation"] == "majority"
    assert methods["ef-signsgd"]["filter"] == "error-feedback"
    assert methods["signum"]["model"] == "none" and methods["dcsgd"]["model"] == "gradient"
    forms = [row["form"] for row in dsignsgd.compressors()]
    assert "qsgd:S[:bucket]" in forms and "sign" in forms
    for row in dsignsgd.compressors():
        for spec in row["examples"]:
            assert dsignsgd.compressor_name(spec) == spec


def test_measure_noise_recovers_injected_student_noise():
    out = dsignsgd.measure_noise(at=[0], draws=200, problem="quadratic", dim=200,
                                 noise="student:3:1", workers=2, seed=5)
    point = out["points"][0]
    assert point["law"] == "student"
    # ν is the Student-t maximum-likelihood fit: within 3 s.e. and 2 % (the pooling's bias,
    # docs/DATA.md); Hill's tail index stays beside it.
    assert abs(point["nu"] - 3) < 3 * point["nu_stderr"] + 0.06
    assert point["nu_stderr"] > 0 and point["tail_index"] > 2
    assert point["spec"].startswith("student:")
    with pytest.raises(ValueError, match="--draws '4'"):
        dsignsgd.measure_noise(draws=4, dim=10)


@pytest.mark.parametrize("call", ["train", "simulate_sde"])
def test_ctrl_c_stops_a_long_call_at_once_and_raises_keyboard_interrupt(call):
    """SIGINT 1 s into a call of a few minutes ends it within seconds with KeyboardInterrupt (it
    used to run to completion and then raise)."""
    import signal
    import sys
    import time
    script = ("import sys, dsignsgd\n"
              "print('calling', flush=True)\n"
              f"dsignsgd.{call}(dim=2000, steps=3000000, runs=2, log_every=1000000)\n"
              "print('finished', flush=True)\n")
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    assert child.stdout.readline().strip() == "calling"
    time.sleep(1.0)
    child.send_signal(signal.SIGINT)
    sent = time.monotonic()
    try:
        out, err = child.communicate(timeout=30)
    finally:
        child.kill()
    waited = time.monotonic() - sent
    assert "finished" not in out
    assert "KeyboardInterrupt" in err, err
    assert child.returncode != 0
    assert waited < 10, f"{call} took {waited:.1f} s to stop after SIGINT"


@pytest.mark.skipif(not os.environ.get("DSIGNSGD_DATA_DIR"), reason="DSIGNSGD_DATA_DIR not set")
def test_a_libtorch_model_is_refused_with_advice_that_works_from_python():
    """The package leaves the libtorch models out on purpose: the refusal says where they run,
    not "install libtorch-dev and rebuild" (the build has it)."""
    with pytest.raises(ValueError, match="fashion-cnn") as refused:
        dsignsgd.train(problem="fashion-cnn", data_dir=os.environ["DSIGNSGD_DATA_DIR"], steps=1,
                       runs=1)
    assert "Python package leaves out" in str(refused.value)
    assert "rebuild" not in str(refused.value)
