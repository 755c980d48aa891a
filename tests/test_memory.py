"""optim.memory: the byte counts the chapter *What an optimizer keeps* prints, and its committed training results."""
import json

import pytest
import torch

import optim.torch as ot
from optim import memory


def test_state_bytes_counts_what_the_optimizer_keeps():
    w = torch.nn.Parameter(torch.zeros(1000, 10))
    w.grad = torch.ones(1000, 10)
    for cls, per_weight in ((ot.SGD, 0), (ot.Momentum, 4), (ot.Adam, 8), (ot.Lion, 4)):
        opt = cls([w], lr=0.1) if cls is not ot.Momentum else cls([w], lr=0.1, momentum=0.9)
        opt.step()
        counters = sum(4 for v in opt.state[w].values() if isinstance(v, torch.Tensor) and v.dim() == 0)
        assert memory.state_bytes(opt) == per_weight * w.numel() + counters, cls


def test_state_bytes_counts_a_shared_tensor_once_and_sees_through_lookahead():
    w = torch.nn.Parameter(torch.zeros(100))
    w.grad = torch.ones(100)
    opt = ot.Lookahead(ot.Adam([w]))
    opt.step()
    assert memory.state_bytes(opt) == 3 * 4 * 100 + 4          # slow weights, m, v, the step
    assert memory.storage_bytes([w, w, w[:10]]) == 400


def test_step_memory_counts_parameters_gradients_state_and_saved_activations():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    x = torch.randn(5, 8)
    out = memory.step_memory(model, lambda m: m(x).sum(), ot.Adam(model.parameters()))
    n = sum(p.numel() for p in model.parameters())
    assert out["params"] == out["grads"] == 4 * n
    assert out["state"] == 8 * n + 4 * 4                         # m, v and a step counter per tensor
    # saved for backward: the input of the first layer, the ReLU's output (used by it and by the last layer)
    assert out["activations"] == 4 * (5 * 8 + 5 * 16)
    assert out["total"] == sum(out[k] for k in ("params", "grads", "state", "activations"))


@pytest.mark.parametrize("optimizer", ["AdamW8bit (256)", "Lion"])
def test_the_committed_results_reproduce(optimizer):
    """One final record per optimizer, re-run: the same numbers to 2 % (relative). On the machine that made the file
    they agree to the last digit; another CPU's kernels may round differently, and an 8-bit state amplifies a
    flipped code. 2 % still catches a real change (blocks of 2048 instead of 256 move this record by 13 %)."""
    records = json.loads(memory.RESULTS.read_text())["records"]
    saved = next(r for r in records if r["optimizer"] == optimizer and r["role"] == "final" and r["seed"] == 1)
    torch.set_num_threads(1)
    again = memory.train(optimizer, saved["lr"], saved["seed"])
    for key in ("val_loss", "test_loss", "test_accuracy", "state_bytes_per_param"):
        assert again[key] == pytest.approx(saved[key], rel=2e-2), key
