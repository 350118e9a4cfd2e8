"""dsignsgd from Python (docs/PYTHON.md).

Runs, with the same keys as the command-line flags (``log_every`` or ``"log-every"`` for
``--log-every``), returning the CLI's JSON as dicts and the curves as NumPy arrays:

    import dsignsgd
    run = dsignsgd.train(method="dsignsgd", noise="student:3:1", workers=4, lr=0.01, steps=2000)
    run["loss"]            # runs × logged steps
    run["summary"]         # summary.json of `dsignsgd train`
    sde = dsignsgd.simulate_sde(method="dsignsgd", noise="student:3:1", workers=4, lr=0.01)
    dsignsgd.predict(method="dcsgd", compressor="randk:0.1")["floor"]
    dsignsgd.scale({"method": "dsgd"}, {"method": "dcsgd", "compressor": "randk:0.1"})
    frame = dsignsgd.read_run("results/run")   # metrics.csv as a DataFrame, summary in .attrs

A bad value raises ValueError with the CLI's message. Also here: the library's compressors and
aggregators on NumPy arrays (encode, aggregate, wire_bytes), the DDP hooks (dsignsgd.torch) and a
launcher (``python3 -m dsignsgd.launch -n 4 script.py``).
"""

from __future__ import annotations

import json
import os
from typing import Optional, Any, Dict, List, Mapping

from . import _core
from ._core import (__version__, aggregate, compressor_name, compressors, downlink_bytes, encode,
                    error_feedback_encode, methods, omega, version, wire_bytes)

__all__ = ["__version__", "aggregate", "compressor_name", "downlink_bytes", "encode",
           "error_feedback_encode", "omega", "wire_bytes", "train", "simulate_sde", "predict",
           "validate", "scale", "speedup", "measure_noise", "methods", "compressors", "read_run",
           "version"]


def _flag_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_flag_value(v) for v in value)
    return str(value)


def _args(config: Mapping[str, Any]) -> List[str]:
    """{"log_every": 10} → ["--log-every=10"] (None values are left out: the default)."""
    return [f"--{key.replace('_', '-')}={_flag_value(value)}"
            for key, value in config.items() if value is not None]


def train(**config) -> Dict[str, Any]:
    """`dsignsgd train`: {"summary": summary.json, "steps", "loss", "grad_norm" (runs × logged),
    "extra": {metric: runs × logged}}."""
    return _core.train(_args(config))


def simulate_sde(**config) -> Dict[str, Any]:
    """`dsignsgd sde` (train's keys plus drift_correction, integrator, substeps,
    compression_covariance); the same layout as train()."""
    return _core.simulate_sde(_args(config))


def predict(epsilon: float = 1e-3, **config) -> Dict[str, Any]:
    """`dsignsgd predict`: the closed forms for the configuration (floors, regimes, limits)."""
    return _core.predict(_args(config), epsilon)


def validate(levels: int = 3, extrapolate: bool = True, **config) -> Dict[str, Any]:
    """`dsignsgd validate`: algorithm against SDE at η, η/2, …; {"summary": validate.json,
    "levels": [{"lr", "algorithm": curves, "sde": curves}]}. `extrapolate` = False is
    `--extrapolation none` (the SDE as stepped with `substeps`, default 4)."""
    return _core.validate(_args(config), levels, extrapolate)


def scale(base: Mapping[str, Any], change: Mapping[str, Any], keep: str = "floor") -> Dict[str, Any]:
    """`dsignsgd scale`: the η, B or N that keep the floor (or trajectory) of `base` after
    `change` (keys of train)."""
    if not change:
        raise ValueError("invalid change {}: must change at least one key")
    return _core.scale(_args(base), _args(change), keep)


def speedup(configs=None, hosts=(2, 4, 16, 64, 256, 1024),
            rates=("100gbit", "10gbit", "1gbit", "100mbit"), latency_us: float = 25.0,
            shared_machine: bool = False, measure_steps: int = 20, rate=None,
            step_seconds: Optional[float] = None, hooks=None, **config) -> Any:
    """`dsignsgd speedup --json`: the α-β model's time per step of each configuration (default:
    all, see `dsignsgd speedup --list-configs`) on `hosts` hosts and links of `rates`, measured on
    this machine for the problem of `config` (train's keys), with its ratio to dsgd-allreduce.

    Given a torch model first — speedup(model, hosts=4, rate="1gbit", step_seconds=0.07) — the
    DDP hooks' and PyTorch's peers' (PowerSGD ranks 1/2/4, fp16, allreduce) time per step from the
    model's buckets (dsignsgd.hook_model): a list of rows {hook, hosts, rate, compute, codec,
    communication, total, ratio, bytes_sent}, one per hook, host count and rate."""
    if hasattr(configs, "parameters"):
        from . import hook_model

        if step_seconds is None:
            raise ValueError("speedup(model, …) needs step_seconds: the step without "
                             "communication (DDP's no_sync), in seconds")
        host_list = [hosts] if isinstance(hosts, int) else list(hosts)
        rate_list = [rate] if isinstance(rate, (str, int, float)) else list(rate or rates)
        rows = []
        for h in host_list:
            for r in rate_list:
                for hook, row in hook_model.predict_for_model(
                        configs, h, r, float(step_seconds), latency_us=float(latency_us),
                        hooks=hooks).items():
                    rows.append({"hook": hook, "hosts": h, "rate": r, **row})
        return rows
    return _core.speedup(_args(config), list(configs or []), list(hosts), list(rates),
                         float(latency_us), bool(shared_machine), int(measure_steps))


def measure_noise(at=(0,), draws: int = 256, coordinates: int = 4096, top_fraction: float = 0.02,
                  **config) -> Dict[str, Any]:
    """`dsignsgd noise-probe --json`: at each step of `at` of plain SGD on the problem of `config`
    (train's keys), `draws` minibatch gradients at the same parameters; per point the noise scale,
    Hill's tail index with its standard error, excess kurtosis, Kolmogorov distance to a Gaussian
    and the law as a --noise spec ("gaussian:σ", "student:ν:σ", "cauchy:σ")."""
    return _core.measure_noise(_args(config), [int(a) for a in at], int(draws), int(coordinates),
                               float(top_fraction))


def read_run(directory: str):
    """metrics.csv of a `train` or `sde` output directory as a pandas DataFrame, with
    summary.json in ``frame.attrs["summary"]``."""
    import pandas

    metrics = os.path.join(directory, "metrics.csv")
    if not os.path.isfile(metrics):
        raise FileNotFoundError(f"{directory} has no metrics.csv (not a train or sde output)")
    frame = pandas.read_csv(metrics)
    summary_path = os.path.join(directory, "summary.json")
    if os.path.isfile(summary_path):
        with open(summary_path, encoding="utf-8") as f:
            frame.attrs["summary"] = json.load(f)
    return frame
