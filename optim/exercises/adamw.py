"""Exercises of the chapter *AdamW*: one AdamW step, and decoupled decay with parameter groups."""

import re

import numpy as np

import optim

from .cases import elementwise_cases, numbers, pick, positive, zeros_like
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "AdamW"
LEARNING_RATES = (0.1, 0.01, 0.5, 0.03)   # never 1: there, "forgot lr" is right by accident
BETA1S = (0.9, 0.8, 0.5)
BETA2S = (0.999, 0.99, 0.9)
EPSILONS = (1e-8, 1e-6, 1e-3)
WEIGHT_DECAYS = (0.1, 0.01, 0.5, 0.05)
STEPS = (2, 3, 5, 10, 100)
BERT_EXCLUDE = ("LayerNorm", "layer_norm", "bias")  # google-research/bert's exclude_from_weight_decay


# --- adamw_step ------------------------------------------------------------------------

def adamw_step(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    adamw = optim.AdamW(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
    # The state holds the number of steps *done*, t − 1; this step makes it t.
    new_w, state = one_step(adamw, w, g, t=t - 1,
                            m=np.asarray(m, dtype=float), v=np.asarray(v, dtype=float))
    return new_w, state.m, state.v


def _adamw_args(rng, shape, scale):
    return dict(w=numbers(rng, shape, scale), g=numbers(rng, shape, scale),
                m=numbers(rng, shape, scale), v=positive(rng, shape, scale**2),
                t=pick(rng, STEPS), lr=pick(rng, LEARNING_RATES), beta1=pick(rng, BETA1S),
                beta2=pick(rng, BETA2S), eps=pick(rng, EPSILONS),
                weight_decay=pick(rng, WEIGHT_DECAYS))


def _adamw_cases(rng):
    first = _adamw_args(rng, (3,), 1.0)
    still = _adamw_args(rng, (3,), 1.0)
    big = _adamw_args(rng, (3,), 1.0)
    return elementwise_cases(rng, _adamw_args) + [
        Case("first step: t = 1, m = v = 0",
             {**first, "t": 1, "m": zeros_like(first["m"]), "v": zeros_like(first["v"])}),
        Case("zero gradient, fresh state: only the decay moves w",
             {**still, "t": 1, "g": zeros_like(still["g"]), "m": zeros_like(still["m"]),
              "v": zeros_like(still["v"])}),
        Case("weight_decay = 0 (AdamW is then Adam)", {**_adamw_args(rng, (3,), 1.0), "weight_decay": 0.0}),
        Case("large weights, strong decay: lr = 0.5, λ = 0.5",
             {**big, "w": big["w"] * 10, "lr": 0.5, "weight_decay": 0.5}),
        Case("late: t = 10000", {**_adamw_args(rng, (3,), 1.0), "t": 10_000}),
    ]


def _moments(g, m, v, beta1, beta2):
    return beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2


def _adam_direction(g, m, v, t, beta1, beta2, eps):
    """(m_t, v_t, m̂_t / (√v̂_t + ε)): the Adam part of the step, without lr."""
    m, v = _moments(g, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return m, v, m_hat / (np.sqrt(v_hat) + eps)


def _l2_in_the_gradient(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m, v, direction = _adam_direction(g + weight_decay * w, m, v, t, beta1, beta2, eps)
    return w - lr * direction, m, v


def _decay_scaled_like_the_gradient(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m, v = _moments(g, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return w - lr * (m_hat + weight_decay * w) / (np.sqrt(v_hat) + eps), m, v


def _decay_without_lr(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m, v, direction = _adam_direction(g, m, v, t, beta1, beta2, eps)
    return w * (1 - weight_decay) - lr * direction, m, v


def _decay_with_lr_twice(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m, v, direction = _adam_direction(g, m, v, t, beta1, beta2, eps)
    return w * (1 - lr * lr * weight_decay) - lr * direction, m, v


def _no_bias_correction(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m, v = _moments(g, m, v, beta1, beta2)
    return w * (1 - lr * weight_decay) - lr * m / (np.sqrt(v) + eps), m, v


def _decayed_after_the_step(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m, v, direction = _adam_direction(g, m, v, t, beta1, beta2, eps)
    return (w - lr * direction) * (1 - lr * weight_decay), m, v


def _decay_sign(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m, v, direction = _adam_direction(g, m, v, t, beta1, beta2, eps)
    return w * (1 + lr * weight_decay) - lr * direction, m, v


def _forgot_the_decay(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    m, v, direction = _adam_direction(g, m, v, t, beta1, beta2, eps)
    return w - lr * direction, m, v


register(Exercise(
    name="adamw_step", chapter=CHAPTER, reference=adamw_step,
    make_cases=_adamw_cases, returns=("w", "m", "v"),
    task="""
One step of AdamW in torch's convention. `t` is the number of this step (1 for the first):

    w  ← (1 − lr·λ)·w                      (decoupled weight decay, λ = weight_decay)
    m_t = β₁·m + (1 − β₁)·g                 v_t = β₂·v + (1 − β₂)·g²
    m̂_t = m_t / (1 − β₁ᵗ)                   v̂_t = v_t / (1 − β₂ᵗ)
    w  ← w − lr·m̂_t / (√v̂_t + ε)

The decay does not touch the gradient, m or v. `w, g, m, v` are numbers or arrays of one shape;
`t` is an int; the rest are numbers. Return the tuple `(w, m, v)` with the new m_t and v_t (not
m̂_t, v̂_t), as new arrays: leave the inputs unchanged.
""",
    mistakes=(
        Mistake("L2 penalty added to the gradient (Adam with weight decay, not AdamW)",
                "Adding λ·w to g sends the decay through m and v, so it is divided by √v̂ like the "
                "gradient: weights with large gradients are barely decayed. AdamW shrinks w directly, "
                "w·(1 − lr·λ), and feeds only g to the moments.", _l2_in_the_gradient),
        Mistake("decay divided by √v̂ like the gradient step",
                "The decay must not be scaled by the adaptive denominator: shrink w by the factor "
                "(1 − lr·λ) on its own, then take the Adam step lr·m̂/(√v̂ + ε).",
                _decay_scaled_like_the_gradient),
        Mistake("decay not multiplied by the learning rate",
                "In torch's AdamW the decay factor is (1 − lr·λ), not (1 − λ). (The paper multiplies "
                "λ by the schedule multiplier only; torch, optax and this book multiply by lr.)",
                _decay_without_lr),
        Mistake("decay multiplied by the learning rate twice",
                "The factor is (1 − lr·λ): one lr. Did you scale λ by lr and then multiply the decay "
                "term by lr again?", _decay_with_lr_twice),
        Mistake("missing bias correction (as in BERT's AdamWeightDecayOptimizer)",
                "Divide m_t by (1 − β₁ᵗ) and v_t by (1 − β₂ᵗ) before the step. Without it the early "
                "steps are (1 − β₁ᵗ)/√(1 − β₂ᵗ) times too large: about 3× at t = 1.", _no_bias_correction),
        Mistake("decayed the new weights (decay after the Adam step)",
                "Decay the weights the step starts from: w·(1 − lr·λ) − lr·m̂/(√v̂ + ε). Decaying "
                "after the step also shrinks the step itself.", _decayed_after_the_step),
        Mistake("weight decay with the wrong sign",
                "Decay shrinks the weights: multiply by (1 − lr·λ), not (1 + lr·λ).", _decay_sign),
        Mistake("forgot the weight decay",
                "That is Adam. AdamW first shrinks the weights: w ← (1 − lr·λ)·w.", _forgot_the_decay),
    ),
))


# --- decay_with_groups -----------------------------------------------------------------

def decay_with_groups(w, names, sizes, ndims, lr, weight_decay):
    # torch's recipe, as the chapter's split_decay helper writes it: decay a parameter iff
    # p.ndim >= 2 (weight matrices, kernels, embeddings); biases and norm weights are 1-D.
    decayed = np.repeat(np.asarray(ndims) >= 2, sizes)
    adamw = optim.AdamW(lr=lr, weight_decay=weight_decay * decayed)
    zero_gradient = np.zeros_like(np.asarray(w, dtype=float))
    new_w, _ = one_step(adamw, w, zero_gradient)   # g = 0, fresh state: only the decay moves w
    return new_w


# Models, as `model.named_parameters()` lists them: (name, shape).
MODELS = {
    "a two-layer MLP (nn.Sequential names)": [
        ("0.weight", (3, 2)), ("0.bias", (3,)), ("2.weight", (2, 3)), ("2.bias", (2,))],
    "a BERT-style block (LayerNorm in the names)": [
        ("embeddings.word_embeddings.weight", (4, 2)), ("embeddings.LayerNorm.weight", (2,)),
        ("embeddings.LayerNorm.bias", (2,)), ("attention.query.weight", (2, 2)),
        ("attention.query.bias", (2,)), ("output.LayerNorm.weight", (2,)),
        ("output.LayerNorm.bias", (2,))],
    "a GPT-2-style block (ln_1, ln_f)": [
        ("wte.weight", (4, 2)), ("h.0.ln_1.weight", (2,)), ("h.0.ln_1.bias", (2,)),
        ("h.0.attn.c_attn.weight", (2, 3)), ("h.0.attn.c_attn.bias", (3,)),
        ("ln_f.weight", (2,)), ("ln_f.bias", (2,))],
    "a small CNN (kernels, BatchNorm bn1)": [
        ("conv1.weight", (2, 1, 2, 2)), ("bn1.weight", (2,)), ("bn1.bias", (2,)),
        ("fc.weight", (3, 2)), ("fc.bias", (3,))],
    "a transformer layer with `norm` layers": [
        ("embed.weight", (3, 2)), ("layers.0.norm1.weight", (2,)), ("layers.0.linear1.weight", (2, 2)),
        ("layers.0.linear1.bias", (2,)), ("layers.0.norm2.weight", (2,)), ("norm.weight", (2,)),
        ("head.weight", (2, 2))],
    "a linear layer without bias": [("weight", (2, 4))],
}


def _groups_args(rng, model, scale=1.0):
    names = [name for name, _ in model]
    sizes = [int(np.prod(shape)) for _, shape in model]
    return dict(w=numbers(rng, (sum(sizes),), scale), names=names, sizes=sizes,
                ndims=[len(shape) for _, shape in model],
                lr=pick(rng, LEARNING_RATES), weight_decay=pick(rng, WEIGHT_DECAYS))


def _groups_cases(rng):
    cases = [Case(label, _groups_args(rng, model)) for label, model in MODELS.items()]
    gpt, cnn = MODELS["a GPT-2-style block (ln_1, ln_f)"], MODELS["a small CNN (kernels, BatchNorm bn1)"]
    return cases + [
        Case("weight_decay = 0", {**_groups_args(rng, cnn), "weight_decay": 0.0}),
        Case("huge weights (≈1e8)", _groups_args(rng, gpt, 1e8)),
        Case("tiny weights (≈1e-8)", _groups_args(rng, cnn, 1e-8)),
    ]


def _decay(w, decayed, factor):
    return np.where(decayed, w * factor, w)


def _decayed_everything(w, names, sizes, ndims, lr, weight_decay):
    return w * (1 - lr * weight_decay)


def _excluded_biases_only(w, names, sizes, ndims, lr, weight_decay):
    decayed = np.repeat([not name.endswith("bias") for name in names], sizes)
    return _decay(w, decayed, 1 - lr * weight_decay)


def _bert_name_patterns(w, names, sizes, ndims, lr, weight_decay):
    decayed = np.repeat([not any(re.search(r, name) for r in BERT_EXCLUDE) for name in names], sizes)
    return _decay(w, decayed, 1 - lr * weight_decay)


def _groups_swapped(w, names, sizes, ndims, lr, weight_decay):
    decayed = np.repeat(np.asarray(ndims) < 2, sizes)
    return _decay(w, decayed, 1 - lr * weight_decay)


def _groups_decay_without_lr(w, names, sizes, ndims, lr, weight_decay):
    return _decay(w, np.repeat(np.asarray(ndims) >= 2, sizes), 1 - weight_decay)


def _groups_decay_sign(w, names, sizes, ndims, lr, weight_decay):
    return _decay(w, np.repeat(np.asarray(ndims) >= 2, sizes), 1 + lr * weight_decay)


register(Exercise(
    name="decay_with_groups", chapter=CHAPTER, reference=decay_with_groups,
    make_cases=_groups_cases, returns=("w",),
    task="""
AdamW's decoupled decay over a whole model, with the usual two parameter groups. The model's
parameters are stored one after another in one flat vector `w` (as this chapter's NumPy
experiments store them): parameter `i` is called `names[i]`, has `sizes[i]` entries and
`ndims[i]` dimensions (`p.ndim` in torch). Return the weights after one step's decay in torch's
convention, w ← (1 − lr·λ)·w with λ = `weight_decay`, applied to every parameter except the
biases and the weights of normalisation layers (LayerNorm, BatchNorm, ...), which keep their
values. In these models, as in most, the excluded ones are exactly the parameters with fewer
than two dimensions. Return a new array: leave `w` unchanged.
""",
    mistakes=(
        Mistake("decayed every parameter, biases and normalisation weights included",
                "Biases and the gains of LayerNorm/BatchNorm are excluded from decay: they are "
                "1-D (`ndims[i] < 2`) and keep their values.", _decayed_everything),
        Mistake("excluded the biases only",
                "The weights of normalisation layers (LayerNorm.weight, ln_1.weight, bn1.weight, "
                "norm.weight) are excluded too. Their names vary; their dimension does not: "
                "decay a parameter if and only if `ndims[i] >= 2`.", _excluded_biases_only),
        Mistake("excluded by BERT name patterns (LayerNorm, layer_norm, bias)",
                "BERT's regular expressions match BERT's names, but other models call their "
                "normalisation layers ln_1, bn1 or norm. Test the dimension, `ndims[i] < 2`, "
                "not the name.", _bert_name_patterns),
        Mistake("decayed the biases and norms instead of the weights (groups swapped)",
                "The decayed group holds the weight matrices, kernels and embeddings "
                "(`ndims[i] >= 2`); the 1-D parameters are the ones left alone.", _groups_swapped),
        Mistake("decay not multiplied by the learning rate",
                "In torch's convention the factor is (1 − lr·λ), not (1 − λ).", _groups_decay_without_lr),
        Mistake("weight decay with the wrong sign",
                "Decay shrinks the weights: multiply by (1 − lr·λ), not (1 + lr·λ).", _groups_decay_sign),
    ),
))
