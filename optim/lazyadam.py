"""LazyAdam: Adam for embeddings, where only the rows in the batch move. Chapter: *LazyAdam*.

The semantics of TensorFlow Addons' ``LazyAdam``:

* a sparse gradient (rows of a table, duplicates summed) updates the moments and
  the weights of *those rows only*; every other row keeps its m, v and weights,
  even though dense Adam would keep moving it with its old momentum;
* bias correction uses the step count t of the table (one per step), not a per-row
  count; TF counts the optimizer's global iterations, while the torch face, like
  SparseAdam, counts per parameter tensor, and only steps that give it a gradient;
* ε is added to the uncorrected √v ("epsilon hat"), with TF's default ``eps=1e-7``;
* a dense gradient gets the same formula on every row (Keras' Adam);
* ``amsgrad=True`` is refused: that is this package's choice, not TF Addons'. TF Addons'
  LazyAdam documents the flag as "currently not supported" but does not refuse it: it
  passes it on to Keras' Adam, whose dense update then applies AMSGrad, while its own
  sparse update (``_resource_apply_sparse``) ignores it. A model with a sparse embedding
  and dense layers would get AMSGrad on the dense layers and plain lazy Adam on the
  table, silently. We raise instead. A lazy AMSGrad would be well defined (a row outside
  the batch keeps its v, so its running max is unchanged; the LazyAdam chapter checks
  this), but neither TF Addons nor torch.optim.SparseAdam implements it.
* TF Addons is end-of-life: its README (since May 2023) announces minimal maintenance
  until a planned end of life in May 2024, and its last commit is from April 2024. Its
  rule is kept here as the reference semantics of lazy Adam, which
  ``torch.optim.SparseAdam`` shares.

Differences from ``torch.optim.SparseAdam``, which is the same lazy rule: SparseAdam
refuses dense gradients, defaults to ``eps=1e-8``, and keeps a step count per
parameter tensor (the same thing when one table is stepped every call). With equal
ε and sparse gradients the two agree (tests/test_lazyadam.py).
"""
from .adam import validate_adam
from .core import Optimizer, gradient


def lazyadam_update(p, g, s, h, x):
    r"""One LazyAdam step, rows-only for a sparse gradient.

    .. math::
        \alpha_t &= \alpha\, \sqrt{1-\beta_2^t} / (1-\beta_1^t) \\
        m_r &\leftarrow \beta_1 m_r + (1-\beta_1)\, g_r, \qquad
        v_r \leftarrow \beta_2 v_r + (1-\beta_2)\, g_r^2 \qquad (r \text{ in the batch}) \\
        w_r &\leftarrow w_r - \alpha_t\, m_r / (\sqrt{v_r} + \hat\epsilon)
    """
    s.t += 1
    t = x.value(s.t)
    lr_t = h.lr * (1 - h.beta2**t) ** 0.5 / (1 - h.beta1**t)
    if not x.is_sparse(g):
        p, g = gradient(p, g, h, x)
        s.m = x.lerp(s.m, g, 1 - h.beta1)
        s.v = x.ema_sq(s.v, g, h.beta2)
        return x.addcdiv(p, s.m, x.sqrt(s.v) + h.eps, -lr_t)
    rows, g = x.coalesce(g)
    if h.maximize:
        g = -g
    m = x.lerp(x.rows(s.m, rows), g, 1 - h.beta1)
    v = x.ema_sq(x.rows(s.v, rows), g, h.beta2)
    s.m, s.v = x.set_rows(s.m, rows, m), x.set_rows(s.v, rows, v)
    return x.set_rows(p, rows, x.addcdiv(x.rows(p, rows), m, x.sqrt(v) + h.eps, -lr_t))


class LazyAdam(Optimizer):
    """LazyAdam (TensorFlow Addons' semantics) — sparse, lazy moment updates."""

    name = "LazyAdam"
    defaults = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-7, amsgrad=False, maximize=False)
    torch_keys = dict(t="step", m="exp_avg", v="exp_avg_sq")
    update = staticmethod(lazyadam_update)
    fixed = dict(weight_decay=0.0)

    @staticmethod
    def validate(hp):
        validate_adam({**hp, "weight_decay": 0.0})
        if hp["amsgrad"]:
            raise ValueError("Invalid amsgrad: True (allowed: amsgrad=False; optim's LazyAdam has "
                             "no lazy AMSGrad. TF Addons' LazyAdam accepts the flag but applies "
                             "AMSGrad to dense gradients only, plain lazy Adam to sparse ones)")

    @staticmethod
    def init_state(p, h, x):
        # a plain int, as torch.optim.SparseAdam keeps it (it computes β**step with it:
        # a float32 tensor there would round the bias corrections to float32)
        return dict(t=0, m=x.zeros_like(p), v=x.zeros_like(p))
