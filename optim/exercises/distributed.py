"""Exercises of the chapter *Many processes*: gradient accumulation over k micro-batches, one ZeRO-1
Adam step over simulated ranks, and the bytes of optimizer state per rank under DDP, ZeRO-1 and FSDP2."""

import numpy as np

import optim

from .cases import numbers, pick, positive
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "Many processes"
LEARNING_RATES = (0.1, 0.05, 0.2, 0.01)


def _gradient(w, X, y):
    """The gradient of the mean over rows of ½(x·w − y)²."""
    return X.T @ (X @ w - y) / len(y)


def accumulated_sgd_step(w, X, y, k, lr):
    X, y, w = np.asarray(X, dtype=float), np.asarray(y, dtype=float), np.asarray(w, dtype=float)
    g = sum(_gradient(w, Xj, yj) / k for Xj, yj in zip(np.split(X, k), np.split(y, k)))
    new_w, _ = optim.SGD(lr=lr).step(w, g, optim.SGD(lr=lr).init(w))
    return new_w


def _args(rng, k, rows_each, d):
    n = k * rows_each
    return dict(w=numbers(rng, (d,)), X=numbers(rng, (n, d)), y=numbers(rng, (n,)), k=k,
                lr=pick(rng, LEARNING_RATES))


def _cases(rng):
    return [
        Case("k = 2 micro-batches of 2 rows, 3 weights", _args(rng, 2, 2, 3)),
        Case("k = 3 micro-batches of 2 rows, 2 weights", _args(rng, 3, 2, 2)),
        Case("k = 4 micro-batches of 3 rows, 3 weights", _args(rng, 4, 3, 3)),
        Case("k = 2 micro-batches of 3 rows, 4 weights", _args(rng, 2, 3, 4)),
        Case("k = 3 micro-batches of 1 row, 2 weights", _args(rng, 3, 1, 2)),
        Case("k = 1: the whole batch at once", _args(rng, 1, 4, 3)),
        Case("k = 6 micro-batches of 2 rows, 3 weights", _args(rng, 6, 2, 3)),
        Case("k = 2 micro-batches of 4 rows, 1 weight", _args(rng, 2, 4, 1)),
    ]


# --- the catalogued mistakes --------------------------------------------------------------

def _parts(X, y, k):
    return zip(np.split(np.asarray(X, dtype=float), k), np.split(np.asarray(y, dtype=float), k))


def _no_division(w, X, y, k, lr):
    return w - lr * sum(_gradient(w, Xj, yj) for Xj, yj in _parts(X, y, k))


def _zeroed_inside(w, X, y, k, lr):
    g = 0
    for Xj, yj in _parts(X, y, k):
        g = _gradient(w, Xj, yj) / k          # zero_grad() inside the loop: only the last one is left
    return w - lr * g


def _step_every_micro_batch(w, X, y, k, lr):
    for Xj, yj in _parts(X, y, k):
        w = w - lr * _gradient(w, Xj, yj) / k
    return w


def _divided_by_rows_too(w, X, y, k, lr):
    return w - lr * sum(_gradient(w, Xj, yj) / (k * len(yj)) for Xj, yj in _parts(X, y, k))


register(Exercise(
    name="accumulated_sgd_step", chapter=CHAPTER, reference=accumulated_sgd_step,
    make_cases=_cases, returns=("w",),
    task="""
One SGD step on a batch that does not fit at once, taken as k micro-batches (gradient accumulation).

The model is linear, the loss of the batch is the mean over its rows of ½(x·w − y)², so a set of
rows (Xj, yj) has the gradient  Xjᵀ(Xj·w − yj) / (number of rows).  Split the rows of X and y
into k consecutive micro-batches of equal size (np.split(X, k)), add up their gradients the way
`loss / k` and `backward()` add them into `p.grad`, then take one step  w ← w − lr·ĝ.
The result must be the step the whole batch would take.

`w` has shape (d,), `X` (n, d), `y` (n,), `k` divides n; `lr` is a number. Return the new w
as a new array (leave the inputs unchanged).
""",
    mistakes=(
        Mistake("accumulated without dividing by k",
                "Each micro-batch's loss is a mean over its own rows; adding k of them gives k times the "
                "batch's mean gradient. Divide each micro-batch's loss (or gradient) by k.", _no_division),
        Mistake("the gradients were zeroed inside the loop",
                "Zeroing (opt.zero_grad()) belongs before the loop: inside it, each micro-batch throws away "
                "the ones before, and only the last micro-batch's gradient (divided by k) is left.",
                _zeroed_inside),
        Mistake("stepped after every micro-batch",
                "Accumulation takes one step per batch, after all k micro-batches: stepping after each one "
                "is k small steps, each from a different w, not the large batch's step.",
                _step_every_micro_batch),
        Mistake("divided by the number of rows as well",
                "The micro-batch loss is already a mean over its rows; dividing by its rows again makes "
                "the gradient too small by that factor. Only the 1/k is missing from a micro-batch mean.",
                _divided_by_rows_too),
    ),
))


# --- zero1_adam_step ----------------------------------------------------------------------

BETA1, BETA2, EPS = 0.9, 0.999, 1e-8
STEPS = (2, 3, 5, 10, 100)


def zero1_adam_step(w, grads, m, v, t, lr):
    w, grads = np.asarray(w, dtype=float), np.asarray(grads, dtype=float)
    m, v = np.asarray(m, dtype=float), np.asarray(v, dtype=float)
    ranks, k = m.shape
    g = grads.mean(axis=0)           # the all-reduce (or reduce-scatter) of the gradients, divided by the ranks
    adam = optim.Adam(lr=lr, betas=(BETA1, BETA2), eps=EPS)
    shards, ms, vs = [], [], []
    for r in range(ranks):           # rank r steps its own shard with its own state...
        own = slice(r * k, (r + 1) * k)
        new_w, state = one_step(adam, w[own], g[own], t=t - 1, m=m[r], v=v[r])
        shards.append(new_w)
        ms.append(state.m)
        vs.append(state.v)
    return np.concatenate(shards), np.stack(ms), np.stack(vs)   # ...and the all-gather joins the shards


def _zero1_args(rng, ranks, k):
    d = ranks * k
    return dict(w=numbers(rng, (d,)), grads=numbers(rng, (ranks, d)), m=numbers(rng, (ranks, k)),
                v=positive(rng, (ranks, k)), t=pick(rng, STEPS), lr=pick(rng, LEARNING_RATES))


def _zero1_cases(rng):
    first = _zero1_args(rng, 2, 2)
    first.update(t=1, m=np.zeros((2, 2)), v=np.zeros((2, 2)))
    agree = _zero1_args(rng, 3, 2)
    agree["grads"] = np.tile(agree["grads"][0], (3, 1))
    return [
        Case("2 ranks, shards of 2 weights", _zero1_args(rng, 2, 2)),
        Case("2 ranks, shards of 3 weights", _zero1_args(rng, 2, 3)),
        Case("3 ranks, shards of 2 weights", _zero1_args(rng, 3, 2)),
        Case("4 ranks, shards of 1 weight", _zero1_args(rng, 4, 1)),
        Case("4 ranks, shards of 2 weights", _zero1_args(rng, 4, 2)),
        Case("3 ranks, shards of 3 weights", _zero1_args(rng, 3, 3)),
        Case("first step: t = 1, m = v = 0 (2 ranks)", first),
        Case("3 ranks whose gradients happen to be equal", agree),
        Case("1 rank: plain Adam", _zero1_args(rng, 1, 3)),
        Case("late: t = 10000 (2 ranks)", {**_zero1_args(rng, 2, 2), "t": 10_000}),
    ]


# --- the catalogued mistakes --------------------------------------------------------------

def _adam(w, g, m, v, t, lr, g2=None):
    """One Adam step written out; `g2` is what enters v in place of g² (for one mistake)."""
    m = BETA1 * m + (1 - BETA1) * g
    v = BETA2 * v + (1 - BETA2) * (g ** 2 if g2 is None else g2)
    m_hat, v_hat = m / (1 - BETA1 ** t), v / (1 - BETA2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + EPS), m, v


def _zero1_by_shard(w, grads, m, v, t, lr, gradient, state=lambda m, r: m[r], g2=None):
    """Rank r steps its shard with `gradient(r, own)` and `state(m, r)`; the shards are all-gathered."""
    w, grads, m, v = (np.asarray(a, dtype=float) for a in (w, grads, m, v))
    ranks, k = m.shape
    out = [_adam(w[r * k:(r + 1) * k], gradient(grads, r, slice(r * k, (r + 1) * k)), state(m, r), state(v, r),
                 t, lr, None if g2 is None else g2(grads, slice(r * k, (r + 1) * k)))
           for r in range(ranks)]
    return np.concatenate([o[0] for o in out]), np.stack([o[1] for o in out]), np.stack([o[2] for o in out])


def _summed(w, grads, m, v, t, lr):
    return _zero1_by_shard(w, grads, m, v, t, lr, lambda grads, r, own: grads[:, own].sum(axis=0))


def _local_gradient(w, grads, m, v, t, lr):
    return _zero1_by_shard(w, grads, m, v, t, lr, lambda grads, r, own: grads[r, own])


def _parameters_averaged(w, grads, m, v, t, lr):
    # no all-reduce of the gradients; after the step the ranks' copies of w are averaged (all-reduce / ranks):
    # rank r's copy has only its own shard changed, so each shard moves by 1/ranks of its step
    new_w, new_m, new_v = _local_gradient(w, grads, m, v, t, lr)
    w = np.asarray(w, dtype=float)
    return w + (new_w - w) / len(new_m), new_m, new_v


def _squares_averaged(w, grads, m, v, t, lr):
    return _zero1_by_shard(w, grads, m, v, t, lr, lambda grads, r, own: grads[:, own].mean(axis=0),
                           g2=lambda grads, own: (grads[:, own] ** 2).mean(axis=0))


def _one_shards_state(w, grads, m, v, t, lr):
    return _zero1_by_shard(w, grads, m, v, t, lr, lambda grads, r, own: grads[:, own].mean(axis=0),
                           state=lambda m, r: m[0])


def _not_gathered(w, grads, m, v, t, lr):
    new_w, new_m, new_v = zero1_adam_step(w, grads, m, v, t, lr)
    kept = np.array(w, dtype=float)                 # rank 0's copy: only its own shard was stepped
    k = new_m.shape[1]
    kept[:k] = new_w[:k]
    return kept, new_m, new_v


register(Exercise(
    name="zero1_adam_step", chapter=CHAPTER, reference=zero1_adam_step,
    make_cases=_zero1_cases, returns=("w", "m", "v"),
    task="""
One data-parallel Adam step under ZeRO-1, with the ranks simulated in one process.

There are `ranks = len(grads)` ranks. Every rank holds the same weights `w` (shape (d,)) and has
computed the gradient of its own rows of the batch: `grads[r]` (shape (d,)) is rank r's. The
optimizer state is partitioned: `w` is cut into `ranks` consecutive shards of k = d / ranks
weights, rank r owns shard r (w[r·k:(r+1)·k]) and keeps Adam's state for it only:
`m[r]` and `v[r]` (`m` and `v` have shape (ranks, k)).

The step: the gradients are all-reduced (or reduce-scattered) into the batch's gradient, the
average of the ranks' gradients; each rank takes one Adam step on its own shard, with its own
m[r] and v[r] (β₁ = 0.9, β₂ = 0.999, ε = 1e-8, bias correction with the step number t, which
counts this step: t = 1 on the first); then the weights are all-gathered, so every rank holds
the whole new w.

Return `(w, m, v)`: the new weights (d,) that every rank ends with, and the new state of every
rank, shape (ranks, k). Leave the inputs unchanged.
""",
    mistakes=(
        Mistake("the gradients were summed, not averaged",
                "Each rank's gradient is the mean over its own rows; the batch's gradient is the *average* "
                "of the ranks' gradients (DDP divides the all-reduced sum by the number of ranks). The sum is "
                "`ranks` times too large, and with m and v already holding earlier steps Adam does not hide it.",
                _summed),
        Mistake("each rank stepped with its own gradient only",
                "ZeRO-1 partitions the optimizer's state, not the batch's gradient: before the step every rank "
                "needs the average of all ranks' gradients (at least for its own shard: a reduce-scatter). "
                "With its local gradient alone, each shard follows a different, smaller batch.",
                _local_gradient),
        Mistake("the parameters were all-reduced instead of the gradients",
                "What is averaged across ranks is the gradient, before the step. Stepping each shard with the "
                "local gradient and then averaging the ranks' copies of w (in which only one shard changed) "
                "divides every step by the number of ranks. After the step the shards are all-*gathered*.",
                _parameters_averaged),
        Mistake("the squares of the ranks' gradients were averaged (the state, not the gradient, was reduced)",
                "v is built from the square of the *averaged* gradient, ḡ², not from the average of the "
                "ranks' squares: reducing the state instead of the gradient gives the same m (it is linear "
                "in g) but a larger v. Average the gradients first, then square.",
                _squares_averaged),
        Mistake("every shard was stepped with rank 0's state",
                "Each rank keeps the state of its own shard only: shard r is stepped with m[r] and v[r], not "
                "with one shard's state (m[0], v[0]) spread over the whole parameter.",
                _one_shards_state),
        Mistake("the new weights were not all-gathered",
                "After the step, rank r has updated only its own shard; the returned w is what every rank "
                "holds *after the all-gather*: all shards new, not rank 0's copy with only shard 0 stepped.",
                _not_gathered),
    ),
))


# --- state_bytes_per_rank -----------------------------------------------------------------

def state_bytes_per_rank(rows, cols, state_bytes, world_size):
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    state_bytes = np.asarray(state_bytes, dtype=float)
    numel = rows * cols
    ddp = np.full(world_size, float(np.sum(numel * state_bytes)))      # every rank keeps all of it
    zero, load = np.zeros(world_size), np.zeros(world_size, dtype=np.int64)
    for i in np.argsort(-numel, kind="stable"):                          # whole tensors, largest first,
        r = int(np.argmin(load))                                        # to the rank with the fewest elements
        load[r] += numel[i]
        zero[r] += numel[i] * state_bytes[i]
    fsdp = np.zeros(world_size)
    for n, c, s in zip(rows, cols, state_bytes):                        # torch.chunk's rows of every tensor
        chunk = -(-n // world_size)
        fsdp += np.clip(n - chunk * np.arange(world_size), 0, chunk) * c * s
    return ddp, zero, fsdp


def _tensors_args(rows, cols, state_bytes, world_size):
    return dict(rows=np.array(rows), cols=np.array(cols), state_bytes=np.array(state_bytes, dtype=float),
                world_size=world_size)


def _mlp(sizes, world_size, state_bytes=8.0):
    """A perceptron's weights (out, in) and biases (out,), in model order."""
    rows = [n for out in sizes[1:] for n in (out, out)]
    cols = [n for i in sizes[:-1] for n in (i, 1)]
    return _tensors_args(rows, cols, [state_bytes] * len(rows), world_size)


def _random_tensors(rng, n, world_size):
    return _tensors_args(rng.integers(1, 10, size=n), rng.integers(1, 7, size=n),
                         rng.choice([4.0, 8.0, 12.0, 2.0], size=n), world_size)


def _state_cases(rng):
    return [
        Case("a 5 → 7 → 3 perceptron, AdamW float32 (8 bytes), 3 ranks", _mlp((5, 7, 3), 3)),
        Case("a 5 → 5 → 3 perceptron, AdamW, 4 ranks (some get no rows)", _mlp((5, 5, 3), 4)),
        Case("a 6 → 8 → 4 perceptron, AdamW, 2 ranks", _mlp((6, 8, 4), 2)),
        Case("a 4 → 6 → 6 → 2 perceptron, SGD momentum (4 bytes), 4 ranks", _mlp((4, 6, 6, 2), 4, 4.0)),
        Case("an embedding (10, 4) and a head (3, 4), AMSGrad (12 bytes), 4 ranks",
             _tensors_args([10, 3], [4, 4], [12.0, 12.0], 4)),
        Case("four equal tensors (3, 3), 3 ranks", _tensors_args([3] * 4, [3] * 4, [8.0] * 4, 3)),
        Case("mixed state: 4 bytes for matrices, 8 for vectors, 3 ranks",
             _tensors_args([6, 6, 9, 9, 2], [4, 1, 6, 1, 9], [4.0, 8.0, 4.0, 8.0, 4.0], 3)),
        Case("one tensor (8, 2), 4 ranks: rows divide evenly", _tensors_args([8], [2], [8.0], 4)),
        Case("6 random tensors, 5 ranks", _random_tensors(rng, 6, 5)),
        Case("5 random tensors, 3 ranks", _random_tensors(rng, 5, 3)),
        Case("1 rank: nothing to share", _mlp((5, 7, 3), 1)),
    ]


# --- the catalogued mistakes --------------------------------------------------------------

def _total(rows, cols, state_bytes):
    return float(np.sum(np.asarray(rows) * np.asarray(cols) * np.asarray(state_bytes, dtype=float)))


def _ddp_divided(rows, cols, state_bytes, world_size):
    ddp, zero, fsdp = state_bytes_per_rank(rows, cols, state_bytes, world_size)
    return ddp / world_size, zero, fsdp


def _zero_even(rows, cols, state_bytes, world_size):
    ddp, zero, fsdp = state_bytes_per_rank(rows, cols, state_bytes, world_size)
    return ddp, np.full(world_size, _total(rows, cols, state_bytes) / world_size), fsdp


def _zero_unsorted(rows, cols, state_bytes, world_size):
    ddp, _, fsdp = state_bytes_per_rank(rows, cols, state_bytes, world_size)
    zero, load = np.zeros(world_size), np.zeros(world_size)
    for n, c, s in zip(rows, cols, state_bytes):                        # in model order, not largest first
        r = int(np.argmin(load))
        load[r] += n * c
        zero[r] += n * c * s
    return ddp, zero, fsdp


def _fsdp_rows(rows, cols, state_bytes, world_size, rows_of):
    ddp, zero, _ = state_bytes_per_rank(rows, cols, state_bytes, world_size)
    fsdp = sum(np.asarray(rows_of(n), dtype=float) * c * s for n, c, s in zip(rows, cols, state_bytes))
    return ddp, zero, fsdp


def _fsdp_array_split(rows, cols, state_bytes, world_size):
    return _fsdp_rows(rows, cols, state_bytes, world_size,
                      lambda n: [len(part) for part in np.array_split(np.arange(n), world_size)])


def _fsdp_padded(rows, cols, state_bytes, world_size):
    return _fsdp_rows(rows, cols, state_bytes, world_size, lambda n: [-(-n // world_size)] * world_size)


def _fsdp_divided(rows, cols, state_bytes, world_size):
    return _fsdp_rows(rows, cols, state_bytes, world_size, lambda n: [n / world_size] * world_size)


def _fsdp_divided_by_w_minus_1(rows, cols, state_bytes, world_size):
    ddp, zero, fsdp = state_bytes_per_rank(rows, cols, state_bytes, world_size)
    if world_size > 1:
        fsdp = np.full(world_size, _total(rows, cols, state_bytes) / (world_size - 1))
    return ddp, zero, fsdp


def _weights_not_bytes(rows, cols, state_bytes, world_size):
    return state_bytes_per_rank(rows, cols, np.ones(len(np.asarray(rows))), world_size)


register(Exercise(
    name="state_bytes_per_rank", chapter=CHAPTER, reference=state_bytes_per_rank,
    make_cases=_state_cases, returns=("ddp", "zero", "fsdp"),
    task="""
How many bytes of optimizer state does each of `world_size` ranks keep under DDP, ZeRO-1 and FSDP2?

The model's tensors, in model order: tensor i has shape (rows[i], cols[i]) (a vector of n numbers
is (n, 1); cols is the product of all dimensions but the first). The optimizer keeps
`state_bytes[i]` bytes of state per weight of tensor i (8 for AdamW's m and v in float32, 4 for
SGD's momentum buffer, 12 with AMSGrad's maximum). Count only these buffers (not the weights,
not the step counter).

* DDP: every rank keeps the state of every tensor.
* ZeRO-1, as PyTorch's `ZeroRedundancyOptimizer` partitions one parameter group: whole tensors,
  taken largest first (by number of elements; equal sizes in model order), each to the rank
  with the fewest elements so far (the lowest rank among equals).
* FSDP2 (`fully_shard`): every tensor is cut along its first dimension as `torch.chunk` cuts it,
  and each rank's state is the size of its own piece: the first ranks get ceil(rows / world_size)
  rows each, the next one what is left, the rest none (FSDP2 pads the *parameter's* storage to
  ceil(rows / world_size) rows on every rank, but the optimizer's state is made from the
  unpadded local piece).

Return `(ddp, zero, fsdp)`: three float arrays of `world_size` numbers, the bytes on rank 0, 1, ….
""",
    mistakes=(
        Mistake("DDP's state was divided among the ranks",
                "DDP replicates: every rank runs the same optimizer on the whole model, so every rank keeps "
                "all of the state, as much as one process alone. Only ZeRO and FSDP divide it.",
                _ddp_divided),
        Mistake("ZeRO-1's state was split evenly",
                "The ZeRO paper's ideal is total / world_size per rank, but PyTorch's ZeroRedundancyOptimizer "
                "assigns *whole tensors*: each tensor's state lives on one rank, so the shares are uneven and the "
                "largest is at least the largest tensor's state.", _zero_even),
        Mistake("ZeRO-1's tensors were assigned in model order",
                "The greedy partition sorts the tensors by size first, largest first, and then gives each to the "
                "rank with the fewest elements so far; in model order the shares come out less even.",
                _zero_unsorted),
        Mistake("FSDP2's rows were split as evenly as possible",
                "fully_shard cuts dim 0 as torch.chunk does, in pieces of ceil(rows / world_size) rows (the "
                "padded size): 5 rows on 4 ranks are 2, 2, 1, 0 rows, not np.array_split's 2, 1, 1, 1.",
                _fsdp_array_split),
        Mistake("FSDP2's padding was counted as state",
                "The padding to ceil(rows / world_size) rows per rank is in the parameter's storage (for the "
                "all-gather); the optimizer's state is made from the local piece (zeros_like of the DTensor "
                "shard), which has only the rank's real rows, and none on a rank past the last piece.",
                _fsdp_padded),
        Mistake("FSDP2's state was divided exactly by the number of ranks",
                "A rank holds whole rows: rows / world_size is rarely a whole number. torch.chunk gives the "
                "first ranks ceil(rows / world_size) rows and the last ones what is left (possibly nothing).",
                _fsdp_divided),
        Mistake("FSDP2's state was divided by world_size − 1",
                "Every one of the world_size ranks, rank 0 included, holds a piece of each tensor: the state "
                "is cut into world_size pieces, not world_size − 1.", _fsdp_divided_by_w_minus_1),
        Mistake("weights were counted, not bytes of state",
                "Multiply each tensor's number of weights by its bytes of state per weight (state_bytes[i]: "
                "8 for AdamW in float32); the answer is in bytes.", _weights_not_bytes),
    ),
))
