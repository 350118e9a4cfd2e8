"""Workloads whose gradient dominates the step (issue 27): the hook benchmark's models and data.

    fashion-mlp   784-2048-2048-10 MLP on Fashion-MNIST            5.8 M parameters, batch 64/rank
    kjv-lm        word-level transformer on the KJV (2 layers,       5.8 M parameters, batch 8×64
                  d = 256, vocabulary 8192, untied embeddings)       tokens/rank
    resnet18      torchvision's ResNet-18 (random init, 1 input      11.2 M parameters, batch 32/rank
                  channel) on Fashion-MNIST padded to 32×32

Every workload gives the same initial weights for a seed on every rank, each rank's minibatch
as a function of (seed, rank, step) only (so every hook sees the same batches), and a held-out
evaluation: test accuracy for the vision models, validation cross-entropy (nats per token) for
the language model. `target` is what plain DDP reaches within 2000 steps at N = 2 (docs/BENCHMARKS.md):
measured for fashion-mlp (0.88 at 1600 and 1650 steps, seeds 1 and 2); the kjv-lm and resnet18
targets are placeholders until their runs are made.
"""
from __future__ import annotations

import collections
import dataclasses
import gzip
import os
import re
from typing import Callable, Dict, Tuple

import numpy as np
import torch
import torch.nn.functional as F


@dataclasses.dataclass
class Workload:
    name: str
    make_model: Callable[[int], torch.nn.Module]   # seed → model (same weights on every rank)
    batch: Callable[[int, int, int], Tuple[torch.Tensor, torch.Tensor]]  # (seed, rank, step)
    loss: Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
    evaluate: Callable[[torch.nn.Module], Dict[str, float]]  # held-out metrics
    metric: str            # the key of evaluate() the target is on
    target: float
    higher_is_better: bool

    def reached(self, metrics: Dict[str, float]) -> bool:
        value = metrics[self.metric]
        return value >= self.target if self.higher_is_better else value <= self.target


def _generator(seed: int, rank: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + rank) * 1_000_003 + step)


# -- Fashion-MNIST ----------------------------------------------------------------------------

def _read_idx(path: str) -> np.ndarray:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_fashion(data_dir: str):
    """(train x, train y), (test x, test y): x float32 N×1×28×28, standardized."""
    directory = os.path.join(data_dir, "fashion-mnist")

    def part(images: str, labels: str):
        x = _read_idx(os.path.join(directory, images)).astype(np.float32) / 255.0
        x = (x - 0.2860) / 0.3530
        y = _read_idx(os.path.join(directory, labels)).astype(np.int64)
        return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)

    return (part("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
            part("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"))


def _accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
              transform=lambda x: x) -> Dict[str, float]:
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            out = model(transform(x[i:i + 1000]))
            correct += (out.argmax(1) == y[i:i + 1000]).sum().item()
            loss += F.cross_entropy(out, y[i:i + 1000], reduction="sum").item()
    model.train()
    return {"test_accuracy": correct / len(x), "test_loss": loss / len(x)}


def _vision(name: str, data_dir: str, make, batch_size: int, transform, target: float,
            eval_rows: int) -> Workload:
    (x, y), (tx, ty) = load_fashion(data_dir)
    tx, ty = tx[:eval_rows], ty[:eval_rows]

    def batch(seed: int, rank: int, step: int):
        rows = torch.randint(len(x), (batch_size,), generator=_generator(seed, rank, step))
        return transform(x[rows]), y[rows]

    return Workload(name, make, batch, lambda m, bx, by: F.cross_entropy(m(bx), by),
                    lambda m: _accuracy(m, tx, ty, transform), "test_accuracy", target, True)


def fashion_mlp(data_dir: str) -> Workload:
    def make(seed: int) -> torch.nn.Module:
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 2048), torch.nn.ReLU(),
                                   torch.nn.Linear(2048, 2048), torch.nn.ReLU(),
                                   torch.nn.Linear(2048, 10))

    return _vision("fashion-mlp", data_dir, make, 64, lambda x: x, 0.88, 10000)


def resnet18(data_dir: str) -> Workload:
    import torchvision  # Debian's python3-torchvision: the architecture, no weights

    def make(seed: int) -> torch.nn.Module:
        torch.manual_seed(seed)
        model = torchvision.models.resnet18(num_classes=10)
        model.conv1 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        return model

    pad = lambda x: F.pad(x, (2, 2, 2, 2), value=-0.2860 / 0.3530)  # 28×28 → 32×32, black border
    return _vision("resnet18", data_dir, make, 32, pad, 0.85, 2000)


# -- KJV word-level language model ------------------------------------------------------------

VOCABULARY = 8192  # the 8191 most frequent tokens and <unk> (99.5 % of the text's tokens)
CONTEXT = 64


def load_kjv(data_dir: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """Token ids of the KJV (lower case; words and punctuation marks are tokens; verse references
    removed): the first 95 % for training, the last 5 % (from Malachi on) for validation."""
    with open(os.path.join(data_dir, "kjv", "kjv.txt"), encoding="utf-8") as f:
        text = re.sub(r"(?m)^\S+ ", "", f.read()).lower()
    tokens = re.findall(r"[a-z]+|[^a-z\s0-9]", text)
    common = [w for w, _ in collections.Counter(tokens).most_common(VOCABULARY - 1)]
    index = {w: i + 1 for i, w in enumerate(common)}  # 0 is <unk>
    ids = torch.tensor([index.get(w, 0) for w in tokens], dtype=torch.int64)
    cut = int(0.95 * len(ids))
    return ids[:cut], ids[cut:]


class WordTransformer(torch.nn.Module):
    """Causal transformer: embedding + learned positions, pre-norm encoder layers, untied output."""

    def __init__(self, layers: int = 2, width: int = 256, heads: int = 4) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(VOCABULARY, width)
        self.position = torch.nn.Parameter(torch.randn(CONTEXT, width) * 0.02)
        layer = torch.nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0,
                                                 batch_first=True, norm_first=True)
        self.blocks = torch.nn.TransformerEncoder(layer, layers)
        self.norm = torch.nn.LayerNorm(width)
        self.out = torch.nn.Linear(width, VOCABULARY)
        self.register_buffer("mask", torch.triu(torch.full((CONTEXT, CONTEXT), float("-inf")), 1))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.embed(ids) + self.position[:ids.shape[1]]
        h = self.blocks(h, mask=self.mask[:ids.shape[1], :ids.shape[1]])
        return self.out(self.norm(h))


def kjv_lm(data_dir: str) -> Workload:
    train, valid = load_kjv(data_dir)
    batch_size = 8
    # A fixed validation set: 64 windows spread over the held-out text.
    starts = torch.linspace(0, len(valid) - CONTEXT - 2, 64).long()
    vx = torch.stack([valid[s:s + CONTEXT] for s in starts])
    vy = torch.stack([valid[s + 1:s + CONTEXT + 1] for s in starts])

    def make(seed: int) -> torch.nn.Module:
        torch.manual_seed(seed)
        return WordTransformer()

    def batch(seed: int, rank: int, step: int):
        starts = torch.randint(len(train) - CONTEXT - 1, (batch_size,),
                               generator=_generator(seed, rank, step))
        x = torch.stack([train[s:s + CONTEXT] for s in starts])
        y = torch.stack([train[s + 1:s + CONTEXT + 1] for s in starts])
        return x, y

    def loss(model, x, y):
        return F.cross_entropy(model(x).reshape(-1, VOCABULARY), y.reshape(-1))

    def evaluate(model) -> Dict[str, float]:
        model.eval()
        with torch.no_grad():
            value = loss(model, vx, vy).item()
        model.train()
        return {"valid_loss": value}

    return Workload("kjv-lm", make, batch, loss, evaluate, "valid_loss", 5.0, False)


WORKLOADS = {"fashion-mlp": fashion_mlp, "kjv-lm": kjv_lm, "resnet18": resnet18}


def load(name: str, data_dir: str) -> Workload:
    if name not in WORKLOADS:
        raise ValueError(f"invalid workload '{name}': must be one of {', '.join(WORKLOADS)}")
    return WORKLOADS[name](data_dir)
