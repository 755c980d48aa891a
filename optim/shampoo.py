"""Shampoo (Gupta, Koren & Singer 2018) and SOAP (Vyas et al. 2024) — ``pytorch_optimizer``'s rules.

Chapter: *Shampoo and SOAP*.

Both precondition a weight matrix G (n×m) from two sides, with the statistics of its rows
(L, n×n) and of its columns (R, m×m): a Kronecker-factored approximation of full-matrix
AdaGrad. In the NumPy face the *last two axes* are the matrix and leading axes are
independent runs; a 1-D array is one vector (one-sided preconditioning). In the torch face
a parameter is one 1-D or 2-D tensor; tensors of three or more dimensions (convolutions)
are refused with a clear error (the oracles precondition each of their modes, or merge
dimensions; not implemented here). Both need each matrix whole: under FSDP2 (DTensor shards) or
ZeRO they cannot run on a shard as they are; gather the matrix first.

**Shampoo** follows ``pytorch_optimizer.Shampoo`` 4.1.0 (the oracle of ``tests/test_shampoo.py``),
which follows the paper's Algorithm 1 (the 2-D case) and Algorithm 2 (order-k tensors: the
exponent −1/(2k), so −1/4 per side for a matrix and −1/2 for a vector). Where the oracle and
the paper differ, this class follows the oracle:

* The statistics start at ε·I (``matrix_eps``, default 1e-6), as the paper's L₀ = εI.
* The inverse roots are recomputed every ``preconditioning_compute_steps`` steps (paper: every
  step; default 1, which is the paper). They start at **zero**: with k > 1 the first k − 1 steps
  do not move the parameters at all (oracle behaviour, kept; the paper has no k).
* The inverse p-th root: the oracle takes an SVD (U diag(s^(−1/p)) Vᵀ); here an eigendecomposition
  Q diag(|λ|^(−1/p)) Qᵀ, the same matrix for a symmetric positive (semi)definite L (|λ| = s); in
  float32 both work in float32, in float64 in float64.
* ``momentum`` (not in the paper; default 0): the oracle mixes the gradient with its buffer,
  g ← (1 − μ) g + μ b, *before* the statistics, and then stores the *preconditioned* update as the
  next b; the first b is the raw gradient (not negated under ``maximize``). Kept as is. With
  μ = 0 the oracle still stores b (the last update) in its state; this class does not (no memory
  for a switched-off term), so its state has no ``momentum_buffer`` then.
* ``weight_decay``: an L2 term added to the (mixed) gradient, or with ``weight_decouple`` the
  weights shrink by (1 − αλ) (by (1 − λ) with ``fixed_decay``), both before the statistics.
* The oracle counts steps per param group (``group['step']``) and negates ``p.grad`` in place
  under ``maximize`` (and mixes momentum into it in place); this class counts per parameter
  (``state['step']``: the same unless a parameter skips steps) and never touches the gradient.

Not reproduced: ``pytorch_optimizer.ScalableShampoo`` (Anil et al.'s scalable variant: blocks of at most
``block_size``, grafting of the step size onto SGD's or AdaGrad's, preconditioning from step 25, roots every
1000 steps by a coupled Schur–Newton iteration unless ``use_svd``), nor Distributed Shampoo.

**SOAP** follows ``pytorch_optimizer.SOAP`` 4.1.0, itself a port of the authors' first
``soap.py``: Adam run in the eigenbasis of Shampoo's L and R. Its behaviour, kept:

* L and R are exponential averages (β_s = ``shampoo_beta``, default β₂) of GGᵀ and GᵀG, from 0.
* The first step only accumulates L, R and takes their eigenvectors (``eigh``, columns in
  descending order of eigenvalue); the parameters do not move ("so that we never use the current
  gradient in the projection", the authors' comment). Steps are then counted from the second one:
  step s = t − 1 in the bias corrections and the refresh schedule.
* m (``exp_avg``) is kept in the *original* space and rotated each step; v (``exp_avg_sq``) lives in
  the rotated space. ε is added after the square root. Bias correction (``correct_bias``) scales the
  step, α·√(1−β₂ˢ)/(1−β₁ˢ).
* Weight decay is decoupled, applied *after* the step, with α (not the corrected step size).
* Every ``precondition_frequency`` steps the eigenbasis is refreshed by one power iteration and a
  QR decomposition (QR in float32 even for float64 parameters: the oracle's choice), after sorting
  the columns by their estimated eigenvalues, and v is permuted to follow its basis.
* ``normalize_gradient`` divides the update by its RMS + ε. ``max_precondition_dim``: a side
  longer than this is not rotated. ``precondition_1d``: rotate vectors too (else plain Adam).
* The oracle adds 1e-30·I before ``eigh``; this class does not (it changes nothing unless a row
  of L is exactly zero, where the eigenvectors are arbitrary anyway). ``merge_dims=True`` (which
  reshapes tensors of 3+ dimensions; on a small 2-D tensor the oracle's reshape fails) is refused;
  ``data_format`` is accepted for the signature and only matters for 4-D tensors. The oracle keeps
  its bases and statistics in lists (``state['Q']``, ``state['GG']``); here they are the tensors
  ``Q_0``, ``Q_1``, ``GG_0``, ``GG_1`` (index = the side: 0 rows, 1 columns), and the step counter
  is per parameter.

The authors' ``soap.py`` (``nikhilvyas/SOAP``, read in its repository for this module) exists in two
versions. The default branch ``main`` (head a1e5535; ``soap.py`` last changed in f42d296, 2024-12-02) and
the repository's README have the oracle's defaults: ``betas=(0.95, 0.95)``, ``shampoo_beta=-1`` (meaning
β₂), ``precondition_frequency=10`` (the README: ``SOAP(lr=3e-3, betas=(.95, .95), weight_decay=.01,
precondition_frequency=10)``). Since f42d296 ("momentum change") ``main`` keeps m *in the eigenbasis*:
it averages the rotated gradient and rotates m back and forth around each refresh of the basis, unlike
the oracle, this class and the chapter's equation, which keep m in the original space. The ``develop``
branch (head aee548f, 2024-11-14; ``soap.py`` last changed 2024-11-09) is a rewrite of November 2024,
not merged into ``main``, and differs from the oracle more:

* defaults ``betas=(0.9, 0.95)``, ``shampoo_beta=0.95``, ``precondition_frequency=2``; argument names
  ``max_precond_dim`` and ``normalize_grads``;
* ``shampoo_beta`` is accepted but never read: L and R are averaged with the debiased β₂;
* it keeps *debiased* averages of m, v and of L, R (β replaced by 1 − (1 − β)/(1 − βˢ), so L and R start
  at GGᵀ, GᵀG exactly) instead of a bias-corrected step size; ε bounds √v from below (max(√v, ε))
  instead of being added;
* weight decay is applied *before* the step and with the sign flipped: ``update_param_`` receives the
  step size −α and multiplies the weights by 1 − λ(−α) = 1 + λα, so they grow (with α = 0.1, λ = 0.5 and
  a gradient of 1e-30 a weight goes 1.0 → 1.05 → 1.1025 → 1.158, run for this module);
* the QR is in the statistics' dtype; all state is float32; normalisation divides by the RMS + 1e-30; and
  it adds a linear warm-up (``warmup_steps``).

This class follows the oracle in all of these.
"""
import numpy as np

from .core import Optimizer, enabled, require, require_betas


# ---------------------------------------------------------------- the matrix inverse root
def inverse_root(a, p, x):
    r"""A^{-1/p} of a symmetric positive semi-definite matrix (the last two axes), via ``eigh``.

    A = Q diag(λ) Qᵀ gives A^{-1/p} = Q diag(|λ|^{-1/p}) Qᵀ. |λ| (what an SVD returns) guards
    against a tiny negative λ from rounding; ε already sits inside A (Shampoo starts A at εI),
    so it is added *before* the root.
    """
    lam, q = x.eigh(a)
    return x.matmul(q * ((lam * lam) ** (-0.5 / p))[..., None, :], x.mT(q))


def _outer(g, x):
    """g gᵀ of a vector (1-D), or G Gᵀ of each matrix."""
    return g[:, None] * g[None, :] if g.ndim == 1 else x.matmul(g, x.mT(g))


# ---------------------------------------------------------------- Shampoo
def shampoo_update(p, g, s, h, x):
    r"""One step of Shampoo: statistics L, R of the rows and columns, then L^{-1/4} G R^{-1/4}.

    .. math::
        L_t &= L_{t-1} + G_t G_t^\top, \qquad R_t = R_{t-1} + G_t^\top G_t
              \qquad (L_0 = R_0 = \epsilon I) \\
        W_{t+1} &= W_t - \alpha\, L_t^{-1/4}\, G_t\, R_t^{-1/4}

    A vector g (a bias) has only L, and its step is α L_t^{-1/2} g (full-matrix AdaGrad). The roots
    are recomputed every k = ``preconditioning_compute_steps`` steps and are zero before step k.
    ``momentum`` μ mixes the previous update into the gradient first: G ← (1 − μ) G + μ U_{t−1}.
    """
    raw = g
    if h.maximize:
        g = -g
    if enabled(h.momentum):                       # the oracle's buffer: the previous *update*
        buf = raw if s.momentum is None else s.momentum
        g = x.lerp(x.clone(g), buf, h.momentum)   # g + μ(b − g), into a copy: the gradient is not ours
    if enabled(h.weight_decay):
        if h.weight_decouple:
            p = x.mul(p, 1 - h.weight_decay * (1.0 if h.fixed_decay else h.lr))
        else:
            g = x.plus(g, p, h.weight_decay)
    s.t += 1
    vector = g.ndim == 1
    s.L = x.add(s.L, _outer(g, x))
    if not vector:
        s.R = x.add(s.R, x.matmul(x.mT(g), g))
    if x.value(s.t) % h.preconditioning_compute_steps == 0:
        s.L_root = inverse_root(s.L, 2 if vector else 4, x)
        if not vector:
            s.R_root = inverse_root(s.R, 4, x)
    if vector:
        u = x.matmul(g, s.L_root)
    else:
        u = x.matmul(x.matmul(s.L_root, g), s.R_root)
    if enabled(h.momentum):
        s.momentum = u
    return x.add(p, u, -h.lr)


def _require_number(name, value):
    """A schedule or a shape (every k steps, the largest side), not something a sweep can vary per run."""
    if np.ndim(value) != 0:
        raise ValueError(f"Invalid {name}: an array of shape {np.shape(value)} (allowed: one number; it "
                         f"decides when or whether a matrix is computed, the same for every run)")


def validate_shampoo(hp):
    _require_number("preconditioning_compute_steps", hp["preconditioning_compute_steps"])
    require("lr", hp["lr"], 0.0)
    require("momentum", hp["momentum"], 0.0, 1.0, high_open=True)
    require("weight_decay", hp["weight_decay"], 0.0)
    require("preconditioning_compute_steps", hp["preconditioning_compute_steps"], 1)
    require("matrix_eps", hp["matrix_eps"], 0.0)


def init_shampoo(p, h, x):
    """L = R = εI (each side of the matrix), inverse roots zero (as the oracle), no momentum yet."""
    state = dict(t=x.counter(0), momentum=None)
    n = p.shape[-1] if p.ndim == 1 else p.shape[-2]
    zeros = x.zeros_like(_outer(p, x))
    state["L"] = zeros + h.matrix_eps * x.eye(n, zeros)
    state["L_root"] = x.zeros_like(state["L"])
    if p.ndim > 1:
        zeros = x.zeros_like(x.matmul(x.mT(p), p))
        state["R"] = zeros + h.matrix_eps * x.eye(p.shape[-1], zeros)
        state["R_root"] = x.zeros_like(state["R"])
    return state


class Shampoo(Optimizer):
    """Shampoo, with the arguments and defaults of ``pytorch_optimizer.Shampoo`` (4.1.0)."""

    name = "Shampoo"
    defaults = dict(lr=1e-3, momentum=0.0, weight_decay=0.0, weight_decouple=False, fixed_decay=False,
                    preconditioning_compute_steps=1, matrix_eps=1e-6, maximize=False)
    torch_keys = dict(t="step", momentum="momentum_buffer", L="pre_cond_0", R="pre_cond_1",
                      L_root="inv_pre_cond_0", R_root="inv_pre_cond_1")
    update = staticmethod(shampoo_update)
    validate = staticmethod(validate_shampoo)
    init_state = staticmethod(init_shampoo)


# ---------------------------------------------------------------- SOAP
def _rotate(a, s, x, back=False):
    """Into the eigenbasis (Q_Lᵀ A Q_R), or back (Q_L A Q_Rᵀ); a side without a basis stays as it is."""
    if a.ndim == 1:
        if s.QL is not None:
            a = x.matmul(s.QL, a) if back else x.matmul(a, s.QL)
        return a
    # one side at a time, each product taken as the oracle's tensordot takes it (Aᵀ Q, then its transpose):
    # SOAP divides rounding noise in L's null space by √v + ε, so the order of the sums shows at 1e-9
    for q in (s.QL, s.QR):
        a = x.mT(a) if q is None else x.matmul(x.mT(a), x.mT(q) if back else q)
    return a


def _accumulate(g, s, beta, x):
    """L ← β L + (1 − β) G Gᵀ,  R ← β R + (1 − β) Gᵀ G."""
    if s.L is not None:
        s.L = x.lerp(s.L, _outer(g, x), 1 - beta)
    if s.R is not None:
        s.R = x.lerp(s.R, x.matmul(x.mT(g), g), 1 - beta)


def _eigenbasis(a, x):
    """Eigenvectors of a symmetric matrix, in descending order of eigenvalue (None stays None)."""
    return None if a is None else x.flip(x.eigh(a)[1], -1)


def _power_qr(a, q, x):
    """One power iteration A Q, its columns sorted by the Rayleigh quotients qᵢᵀ A qᵢ (descending), then QR."""
    aq = x.matmul(a, q)
    idx = x.argsort(-x.mean(q * aq, -2))                       # (…, 1, n): the same order for every row
    return x.qr(x.take_along(aq, idx, -1), float32=True), idx


def _refresh(s, x):
    """The eigenbasis after one power iteration; v's coordinates follow their basis vectors."""
    if s.QL is not None:
        s.QL, idx = _power_qr(s.L, s.QL, x)
        s.v = x.take_along(s.v, idx[..., 0, :], -1) if s.v.ndim == 1 else x.take_along(s.v, x.mT(idx), -2)
    if s.QR is not None:
        s.QR, idx = _power_qr(s.R, s.QR, x)
        s.v = x.take_along(s.v, idx, -1)


def soap_update(p, g, s, h, x):
    r"""One step of SOAP: Adam in the eigenbasis of Shampoo's statistics.

    .. math::
        \tilde G_t &= Q_L^\top G_t Q_R, \qquad
        m_t = \beta_1 m_{t-1} + (1-\beta_1) G_t, \qquad
        \tilde v_t = \beta_2 \tilde v_{t-1} + (1-\beta_2)\, \tilde G_t^{\,2} \\
        W_{t+1} &= (1 - \alpha\lambda)\Big(W_t - \alpha_s\, Q_L\,
                   \frac{Q_L^\top m_t Q_R}{\sqrt{\tilde v_t} + \epsilon}\, Q_R^\top\Big),
                   \qquad \alpha_s = \alpha\frac{\sqrt{1-\beta_2^s}}{1-\beta_1^s},\ s = t - 1 \\
        L_t &= \beta_s L_{t-1} + (1-\beta_s) G_t G_t^\top, \qquad
        R_t = \beta_s R_{t-1} + (1-\beta_s) G_t^\top G_t

    and every f = ``precondition_frequency`` steps Q_L, Q_R ← QR(L Q_L), QR(R Q_R). Step 1 only
    initialises L, R and their eigenvectors Q_L, Q_R.
    """
    if h.maximize:
        g = -g
    beta_s = h.beta2 if h.shampoo_beta is None else h.shampoo_beta
    first = x.value(s.t) == 0
    s.t += 1
    if first:
        _accumulate(g, s, beta_s, x)
        s.QL, s.QR = _eigenbasis(s.L, x), _eigenbasis(s.R, x)
        return p
    step = x.value(s.t) - 1
    step_size = h.lr
    if h.correct_bias:
        step_size = h.lr * ((1 - h.beta2**step) ** 0.5 / (1 - h.beta1**step))
    g_rot = _rotate(g, s, x)
    s.m = x.lerp(s.m, g, 1 - h.beta1)
    s.v = x.lerp(s.v, g_rot * g_rot, 1 - h.beta2)
    u = _rotate(_rotate(s.m, s, x) / (x.sqrt(s.v) + h.eps), s, x, back=True)
    if h.normalize_gradient:
        u = u / (x.sqrt(x.mean(u * u, -1 if u.ndim == 1 else (-2, -1))) + h.eps)
    p = x.add(p, u, -step_size)
    if enabled(h.weight_decay):
        p = x.mul(p, 1 - h.lr * h.weight_decay)
    _accumulate(g, s, beta_s, x)
    if step % h.precondition_frequency == 0:
        _refresh(s, x)
    return p


def validate_soap(hp):
    _require_number("precondition_frequency", hp["precondition_frequency"])
    _require_number("max_precondition_dim", hp["max_precondition_dim"])
    require("lr", hp["lr"], 0.0)
    require_betas(hp["betas"])
    if hp["shampoo_beta"] is not None:
        require("shampoo_beta", hp["shampoo_beta"], 0.0, 1.0, high_open=True)
    require("weight_decay", hp["weight_decay"], 0.0)
    require("precondition_frequency", hp["precondition_frequency"], 1)
    require("max_precondition_dim", hp["max_precondition_dim"], 1)
    require("eps", hp["eps"], 0.0)
    if hp["merge_dims"]:
        raise ValueError("Invalid merge_dims: True (allowed: False; optim's SOAP preconditions 1-D and 2-D "
                         "tensors, which have no dimensions to merge)")
    if hp["data_format"] not in ("channels_first", "channels_last"):
        raise ValueError(f"Invalid data_format: {hp['data_format']!r} (allowed: 'channels_first', 'channels_last')")


def init_soap(p, h, x):
    """m, v zero; L, R zero for each side no longer than max_precondition_dim (a vector: only with precondition_1d)."""
    state = dict(t=x.counter(0), m=x.zeros_like(p), v=x.zeros_like(p), L=None, R=None, QL=None, QR=None)
    if p.ndim == 1:
        if h.precondition_1d and p.shape[-1] <= h.max_precondition_dim:
            state["L"] = x.zeros_like(_outer(p, x))
    else:
        if p.shape[-2] <= h.max_precondition_dim:
            state["L"] = x.zeros_like(x.matmul(p, x.mT(p)))
        if p.shape[-1] <= h.max_precondition_dim:
            state["R"] = x.zeros_like(x.matmul(x.mT(p), p))
    return state


class SOAP(Optimizer):
    """SOAP, with the arguments and defaults of ``pytorch_optimizer.SOAP`` (4.1.0)."""

    name = "SOAP"
    defaults = dict(lr=3e-3, betas=(0.95, 0.95), shampoo_beta=None, weight_decay=1e-2, precondition_frequency=10,
                    max_precondition_dim=10000, merge_dims=False, precondition_1d=False, correct_bias=True,
                    normalize_gradient=False, data_format="channels_first", eps=1e-8, maximize=False)
    torch_keys = dict(t="step", m="exp_avg", v="exp_avg_sq", L="GG_0", R="GG_1", QL="Q_0", QR="Q_1")
    update = staticmethod(soap_update)
    validate = staticmethod(validate_soap)
    init_state = staticmethod(init_soap)
