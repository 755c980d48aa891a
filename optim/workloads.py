"""The benchmark's workloads: five small training problems, each with a validation target.

Each is a few seconds per trial on one core, with data the project makes or a package
ships (nothing is downloaded):

* ``logreg``: logistic regression on a generated sparse bag of words (convex);
* ``digits_mlp``: an MLP on scikit-learn's 8 x 8 digits;
* ``digits_cnn``: a small CNN on the same digits;
* ``char_lm``: a two-layer character transformer trained on the book's own chapters;
* ``embedding``: a bag-of-embeddings classifier over Zipf-distributed ids, whose
  gradient is sparse (``nn.EmbeddingBag(sparse=True)`` for the optimizers that take it).

A workload builds a fresh :class:`Task` from a seed: the model, a function giving the
training batch of each step, and the validation metric. :func:`run_trial` trains it
with one optimizer configuration and records the curve. This module imports torch;
``optim.bench`` (the harness) does not.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

import optim.torch as optim_torch

from .bench import steps_to_target

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Task:
    model: nn.Module
    batch: Callable[[int], tuple]            # step -> (inputs, targets)
    loss: Callable[[nn.Module, tuple], torch.Tensor]
    metric: Callable[[nn.Module], float]     # on the validation split


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    build: Callable[[int, bool], Task]        # (seed, sparse) -> Task
    steps: int
    eval_every: int
    metric: str
    target: float
    higher_is_better: bool
    sparse: bool = False                      # does the model's gradient come sparse?


def _cross_entropy(model, batch):
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


def _accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((model(x).argmax(-1) == y).float().mean())


def _minibatches(x, y, size, seed):
    """Step -> a batch: shuffled epochs, reproducible from the seed."""
    g = torch.Generator().manual_seed(seed)
    order, per_epoch = [], len(x) // size

    def batch(step):
        epoch, i = divmod(step, per_epoch)
        while len(order) <= epoch:
            order.append(torch.randperm(len(x), generator=g))
        idx = order[epoch][i * size:(i + 1) * size]
        return x[idx], y[idx]
    return batch


# ------------------------------------------------------------------ logistic regression

def _logreg(seed, sparse=False):
    rng = np.random.default_rng(1000)          # the data is the workload: the same for every seed
    vocab, docs, words = 500, 3000, 30
    freq = 1.0 / np.arange(1, vocab + 1)                      # Zipf word frequencies
    counts = np.zeros((docs, vocab), dtype=np.float32)
    for d in range(docs):
        np.add.at(counts[d], rng.choice(vocab, size=words, p=freq / freq.sum()), 1.0)
    x = np.log1p(counts)
    w_true = rng.normal(size=vocab) * (rng.random(vocab) < 0.2)
    y = (x @ w_true + 0.5 * rng.normal(size=docs) > 0).astype(np.int64)
    x, y = torch.tensor(x), torch.tensor(y)
    torch.manual_seed(seed)
    model = nn.Linear(vocab, 2)
    return Task(model, _minibatches(x[:2000], y[:2000], 64, seed), _cross_entropy,
                lambda m: _accuracy(m, x[2000:], y[2000:]))


# ------------------------------------------------------------------ digits

def _digits(seed):
    from sklearn.datasets import load_digits
    data = load_digits()
    x = torch.tensor(data.data / 16.0, dtype=torch.float32)
    y = torch.tensor(data.target, dtype=torch.int64)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))   # one fixed split
    x, y = x[order], y[order]
    return (x[:1300], y[:1300]), (x[1300:], y[1300:])


def _digits_mlp(seed, sparse=False):
    (xt, yt), (xv, yv) = _digits(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
    return Task(model, _minibatches(xt, yt, 32, seed), _cross_entropy, lambda m: _accuracy(m, xv, yv))


def _digits_cnn(seed, sparse=False):
    (xt, yt), (xv, yv) = _digits(seed)
    xt, xv = xt.view(-1, 1, 8, 8), xv.view(-1, 1, 8, 8)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 16, 10))
    return Task(model, _minibatches(xt, yt, 32, seed), _cross_entropy, lambda m: _accuracy(m, xv, yv))


# ------------------------------------------------------------------ character language model

CONTEXT = 32


def _book_text() -> str:
    """The book's own chapters (their prose and code), in reading order by file name."""
    return "\n".join(p.read_text() for p in sorted((ROOT / "chapters").glob("*.md")))


class _CharTransformer(nn.Module):
    def __init__(self, vocab, d=32, heads=4, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.position = nn.Parameter(torch.zeros(CONTEXT, d))
        layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.0, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, vocab)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(CONTEXT), persistent=False)

    def forward(self, ids):
        h = self.embed(ids) + self.position[: ids.shape[1]]
        return self.head(self.blocks(h, mask=self.mask[: ids.shape[1], : ids.shape[1]], is_causal=True))


def _char_lm(seed, sparse=False):
    text = _book_text()
    chars = sorted(set(text))
    ids = torch.tensor([chars.index(c) for c in text[:200_000]], dtype=torch.int64)
    split = int(0.9 * len(ids))
    train, val = ids[:split], ids[split:]
    g = torch.Generator().manual_seed(seed)

    def windows(source, n, generator):
        start = torch.randint(0, len(source) - CONTEXT - 1, (n,), generator=generator)
        rows = start[:, None] + torch.arange(CONTEXT + 1)
        return source[rows[:, :-1]], source[rows[:, 1:]]

    val_x, val_y = windows(val, 256, torch.Generator().manual_seed(12345))
    torch.manual_seed(seed)
    model = _CharTransformer(len(chars))

    def loss(m, batch):
        x, y = batch
        return nn.functional.cross_entropy(m(x).flatten(0, 1), y.flatten())

    def metric(m):
        with torch.no_grad():
            return float(loss(m, (val_x, val_y)))
    return Task(model, lambda step: windows(train, 16, g), loss, metric)


# ------------------------------------------------------------------ sparse embeddings

def _embedding(seed, sparse=False):
    rng = np.random.default_rng(2000)          # the data is the workload: the same for every seed
    vocab, n, bag = 5000, 4000, 8
    freq = 1.0 / np.arange(1, vocab + 1) ** 1.1
    ids = rng.choice(vocab, size=(n, bag), p=freq / freq.sum())
    w_true = rng.normal(size=(vocab, 4))
    y = np.argmax(w_true[ids].sum(axis=1) + 0.5 * rng.normal(size=(n, 4)), axis=1)
    ids, y = torch.tensor(ids), torch.tensor(y, dtype=torch.int64)
    torch.manual_seed(seed)

    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.table = nn.EmbeddingBag(vocab, 16, mode="sum", sparse=sparse)
            self.head = nn.Linear(16, 4)

        def forward(self, x):
            return self.head(self.table(x))
    model = Bag()
    return Task(model, _minibatches(ids[:3000], y[:3000], 64, seed), _cross_entropy,
                lambda m: _accuracy(m, ids[3000:], y[3000:]))


WORKLOADS = {w.name: w for w in (
    Workload("logreg", "logistic regression, sparse bag of words (convex)", _logreg, 400, 20,
             "validation accuracy", 0.80, True),
    Workload("digits_mlp", "MLP on scikit-learn's digits", _digits_mlp, 400, 20, "validation accuracy", 0.95, True),
    Workload("digits_cnn", "small CNN on scikit-learn's digits", _digits_cnn, 300, 20, "validation accuracy", 0.96, True),
    Workload("char_lm", "2-layer character transformer on the book's text", _char_lm, 250, 25,
             "validation loss (nats/char)", 2.7, False),
    Workload("embedding", "bag of embeddings over Zipf ids (sparse gradient)", _embedding, 500, 25,
             "validation accuracy", 0.6, True, sparse=True),
)}


# ------------------------------------------------------------------ one trial

class Pair:
    """Two optimizers stepped as one (Muon for the hidden matrices, AdamW for the rest)."""

    def __init__(self, *optimizers):
        self.optimizers = optimizers

    def zero_grad(self):
        for o in self.optimizers:
            o.zero_grad()

    def step(self):
        for o in self.optimizers:
            o.step()


def make_optimizer(name: str, model: nn.Module, kwargs: dict):
    """optim.torch's class ``name`` for ``model`` (``Lookahead(AdamW)`` wraps an AdamW; ``Muon``
    takes the 2-D weights of hidden layers and leaves tables, the last layer and biases to AdamW,
    as its authors recommend, with the same rate; it also leaves conv kernels to AdamW, which its
    authors do not: they run Muon on kernels flattened to 2-D, but torch.optim.Muon refuses them, so
    the CNN workload has no Muon trial, see ``bench.NOT_ON``)."""
    params = list(model.parameters())
    if name == "Lookahead(AdamW)":
        inner = {k: v for k, v in kwargs.items() if k not in ("k", "alpha")}
        outer = {k: v for k, v in kwargs.items() if k in ("k", "alpha")}
        return optim_torch.Lookahead(optim_torch.AdamW(params, **inner), **outer)
    if name == "Muon":
        lr = kwargs.get("lr", optim_torch.Muon.__init__.__signature__.parameters["lr"].default)
        tables = {id(m.weight) for m in model.modules() if isinstance(m, (nn.Embedding, nn.EmbeddingBag))}
        last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
        hidden = [p for p in params if p.ndim == 2 and id(p) not in tables and p is not last.weight]
        rest = [p for p in params if all(p is not h for h in hidden)]
        return Pair(optim_torch.Muon(hidden, **kwargs), optim_torch.AdamW(rest, lr=lr))
    return getattr(optim_torch, name)(params, **kwargs)


def takes_sparse(name: str) -> bool:
    cls = getattr(optim_torch, name, None)
    return bool(getattr(cls, "supports_sparse", False))


def _finite(g) -> bool:
    return bool(torch.isfinite(g.coalesce().values() if g.is_sparse else g).all())


def run_trial(workload: Workload, optimizer: str, kwargs: dict, seed: int) -> dict:
    """Train ``workload`` with one optimizer configuration; the record the results file keeps."""
    torch.manual_seed(seed)
    task = workload.build(seed, workload.sparse and takes_sparse(optimizer))
    opt = make_optimizer(optimizer, task.model, kwargs)
    if hasattr(opt, "train"):             # Schedule-Free starts in eval mode, as its reference does
        opt.train()
    steps, metrics, diverged = [], [], False
    start = time.perf_counter()
    train_seconds, trained = 0.0, 0
    for step in range(1, workload.steps + 1):
        t0 = time.perf_counter()
        batch = task.batch(step - 1)
        opt.zero_grad()
        loss = task.loss(task.model, batch)
        if not torch.isfinite(loss):
            diverged = True
            break
        loss.backward()
        if not all(_finite(p.grad) for p in task.model.parameters() if p.grad is not None):
            diverged = True               # before the step: an eigendecomposition of NaNs can stall
            break
        opt.step()
        train_seconds += time.perf_counter() - t0
        trained += 1
        if step % workload.eval_every == 0:
            if hasattr(opt, "eval"):                    # Schedule-Free evaluates at its averaged point
                opt.eval()
            value = task.metric(task.model)
            if hasattr(opt, "train"):
                opt.train()
            steps.append(step)
            metrics.append(value if math.isfinite(value) else float("nan"))
    finite = [m for m in metrics if math.isfinite(m)]
    best = (max(finite) if workload.higher_is_better else min(finite)) if finite else float("nan")
    return dict(
        workload=workload.name, optimizer=optimizer, hyper=kwargs, seed=seed,
        steps_to_target=steps_to_target(steps, metrics, workload.target, workload.higher_is_better),
        best_metric=best, higher_is_better=workload.higher_is_better, diverged=diverged,
        seconds_per_step=train_seconds / max(trained, 1), seconds=time.perf_counter() - start,
        curve=dict(steps=steps, metric=metrics),
    )
