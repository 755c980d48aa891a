"""Exercises of the chapter *Fine-tuning: a case study*: entity F1, the weight-decay split, BERT's warm-up.

Tags follow the BIO scheme with integer codes: 0 is O (outside any entity); entity
type k = 1, 2, … has B-k = 2k − 1 (the first token of an entity) and I-k = 2k (a
token inside it). `entity_scores` is also the metric of the chapter's experiments.
"""

import numpy as np

import optim

from .cases import numbers, pick
from .core import Case, Exercise, Mistake, one_step, register

CHAPTER = "Fine-tuning: a case study"


# --- entity_scores -------------------------------------------------------------------

def entity_spans(tags) -> set:
    """The entities of a tag array (sentences × tokens) as (sentence, start, end, type).

    conlleval's rule: an entity starts at B-k, or at an I-k that does not continue an
    entity of type k, and runs over the I-k that follow.
    """
    tags = np.atleast_2d(np.asarray(tags))
    spans = set()
    for s, row in enumerate(tags):
        start, kind = None, 0
        for i, tag in enumerate(list(row) + [0]):          # a final O closes the last entity
            tag = int(tag)
            tag_kind, inside = (tag + 1) // 2, tag > 0 and tag % 2 == 0
            if start is not None and not (inside and tag_kind == kind):
                spans.add((s, start, i, kind))
                start = None
            if tag > 0 and start is None:
                start, kind = i, tag_kind
    return spans


def _ratios(hits, predicted, true):
    precision = hits / predicted if predicted else 0.0
    recall = hits / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


def entity_scores(tags, logits):
    """Entity-level precision, recall and F1 of the predictions argmax(logits) against `tags`."""
    predicted = np.asarray(logits).argmax(axis=-1)
    true_spans, predicted_spans = entity_spans(tags), entity_spans(predicted)
    return _ratios(len(true_spans & predicted_spans), len(predicted_spans), len(true_spans))


N_TYPES = 3
N_TAGS = 2 * N_TYPES + 1


def _random_tags(rng, n_sentences, length, p_entity=0.25):
    """BIO tags with entities of 1 to 3 tokens, and a few stray I tags."""
    tags = np.zeros((n_sentences, length), dtype=np.int64)
    for row in tags:
        i = 0
        while i < length:
            if rng.random() < p_entity:
                kind, size = int(rng.integers(1, N_TYPES + 1)), int(rng.integers(1, 4))
                stray = rng.random() < 0.1
                row[i] = 2 * kind if stray else 2 * kind - 1
                row[i + 1:i + size] = 2 * kind
                i += size
            else:
                i += 1
    return tags


def _corrupt(rng, tags, rate):
    """Predictions: the true tags with a fraction `rate` of tokens changed at random."""
    predicted = tags.copy()
    flip = rng.random(tags.shape) < rate
    predicted[flip] = rng.integers(0, N_TAGS, size=int(flip.sum()))
    return predicted


def _logits_for(rng, predicted):
    """Scores whose argmax is `predicted`: two-decimal noise, and +3 on the chosen tag."""
    logits = np.round(rng.normal(size=predicted.shape + (N_TAGS,)), 2)
    np.put_along_axis(logits, predicted[..., None], logits.max(axis=-1, keepdims=True) + 3.0, axis=-1)
    return logits


def _scores_cases(rng):
    cases = []
    for label, n, length, rate in [("2 sentences, a few errors", 2, 8, 0.2),
                                   ("3 sentences, many errors", 3, 10, 0.5),
                                   ("1 sentence, a few errors", 1, 12, 0.2),
                                   ("4 sentences, a few errors", 4, 9, 0.3),
                                   ("2 sentences, many errors", 2, 12, 0.6),
                                   ("3 sentences, few errors", 3, 10, 0.1)]:
        tags = _random_tags(rng, n, length)
        cases.append(Case(label, dict(tags=tags, logits=_logits_for(rng, _corrupt(rng, tags, rate)))))
    tags = _random_tags(rng, 2, 10)
    cases.append(Case("perfect predictions", dict(tags=tags, logits=_logits_for(rng, tags))))
    tags = _random_tags(rng, 3, 10)
    cases.append(Case("a model that predicts O everywhere",
                      dict(tags=tags, logits=_logits_for(rng, np.zeros_like(tags)))))
    # right boundaries, wrong type: [B-1 I-1] predicted as [B-2 I-2]
    tags = np.array([[0, 1, 2, 0, 3, 0, 5, 6, 6, 0]])
    predicted = np.array([[0, 3, 4, 0, 3, 0, 5, 6, 6, 0]])
    cases.append(Case("one entity with the wrong type", dict(tags=tags, logits=_logits_for(rng, predicted))))
    # a stray I-1 after O starts an entity (conlleval); predicted [I-1 I-1] matches true [B-1 I-1]
    tags = np.array([[0, 2, 2, 0, 1, 2, 0, 0, 3, 0]])
    predicted = np.array([[0, 2, 2, 0, 2, 2, 0, 0, 3, 4]])
    cases.append(Case("stray I tags", dict(tags=tags, logits=_logits_for(rng, predicted))))
    return cases


def _token_tags(tags, logits):
    return np.atleast_2d(np.asarray(tags)), np.atleast_2d(np.asarray(logits).argmax(axis=-1))


def _counted_o(tags, logits):
    true, predicted = _token_tags(tags, logits)
    accuracy = float(np.mean(true == predicted))
    return accuracy, accuracy, accuracy


def _token_level(tags, logits):
    true, predicted = _token_tags(tags, logits)
    hits = int(np.sum((true == predicted) & (true > 0)))
    return _ratios(hits, int(np.sum(predicted > 0)), int(np.sum(true > 0)))


def _swapped(tags, logits):
    precision, recall, f1 = entity_scores(tags, logits)
    return recall, precision, f1


def _ignored_type(tags, logits):
    true = {span[:3] for span in entity_spans(tags)}
    predicted = {span[:3] for span in entity_spans(np.asarray(logits).argmax(axis=-1))}
    return _ratios(len(true & predicted), len(predicted), len(true))


def _strict_b(tags, logits):
    def spans(t):
        return {span for span in entity_spans(t) if int(np.atleast_2d(t)[span[0], span[1]]) % 2 == 1}
    true, predicted = spans(np.asarray(tags)), spans(np.asarray(logits).argmax(axis=-1))
    return _ratios(len(true & predicted), len(predicted), len(true))


register(Exercise(
    name="entity_scores", chapter=CHAPTER, reference=entity_scores, make_cases=_scores_cases,
    returns=("precision", "recall", "f1"),
    task="""
Entity-level precision, recall and F1, as conlleval and seqeval compute them for NER.
`tags` holds the true BIO tags (integers, sentences × tokens): 0 is O, and entity type
k = 1, 2, 3 has B-k = 2k − 1 and I-k = 2k. `logits` (sentences × tokens × 7) holds the
model's scores; its prediction is the tag with the highest score.
An entity is a span (sentence, first token, last token, type): it starts at a B-k, or at an
I-k that does not continue an entity of type k (conlleval's rule), and runs over the I-k
that follow. A predicted entity counts only if the very same span, with the same type, is
true. precision = correct / predicted entities, recall = correct / true entities,
F1 = 2PR / (P + R); each is 0 when its denominator is 0. Return (precision, recall, f1).
""",
    mistakes=(
        Mistake("counted O tokens (token accuracy)",
                "O is not an entity: a model that predicts O everywhere is right on most tokens and "
                "finds no entity at all. Compare spans of B/I tags, never single tokens.", _counted_o),
        Mistake("token-level instead of span-level",
                "Score whole entities: an entity whose first token is right but whose second is "
                "wrong is a miss, not half a hit. Collect spans, then intersect the two sets.",
                _token_level),
        Mistake("precision and recall swapped",
                "Precision divides the correct entities by the *predicted* ones (how many of the "
                "model's entities are right); recall by the *true* ones (how many it found).", _swapped),
        Mistake("ignored the entity type",
                "A span with the right boundaries but the wrong type (a person tagged as a place) "
                "is wrong: compare (sentence, start, end, type).", _ignored_type),
        Mistake("only B tags start an entity",
                "conlleval also starts an entity at an I-k that does not continue one of type k "
                "(after O, or after another type); models often predict such stray I tags.",
                _strict_b),
    ),
))


# --- decay_step: weight decay only where it belongs ------------------------------------------

NAMES = (
    "embed.weight", "pos.weight", "embed_norm.weight", "embed_norm.bias",
    "layers.0.self_attn.in_proj_weight", "layers.0.self_attn.in_proj_bias",
    "layers.0.self_attn.out_proj.weight", "layers.0.self_attn.out_proj.bias",
    "layers.0.linear1.weight", "layers.0.linear1.bias", "layers.0.linear2.weight",
    "layers.0.linear2.bias", "layers.0.norm1.weight", "layers.0.norm1.bias",
    "layers.0.norm2.weight", "layers.0.norm2.bias", "bert.encoder.LayerNorm.weight",
    "bert.encoder.LayerNorm.bias", "classifier.weight", "classifier.bias",
)


def no_decay(name: str) -> bool:
    """Biases and LayerNorm parameters are not decayed (BERT's recipe)."""
    return name.endswith("bias") or "norm" in name.lower()


def decay_step(w, names, lr, weight_decay):
    # AdamW with a zero gradient takes exactly its decay step; λ = 0 where it does not belong
    decay = np.array([0.0 if no_decay(name) else weight_decay for name in names])
    new_w, _ = one_step(optim.AdamW(lr=lr, weight_decay=decay), w, np.zeros_like(w))
    return new_w


def _decay_cases(rng):
    cases = []
    for label, size in [("all the names", len(NAMES)), ("a few names", 5), ("a few names", 7),
                        ("several names", 10), ("several names", 12), ("several names", 9),
                        ("many names", 15), ("many names", 16)]:
        chosen = [NAMES[i] for i in sorted(rng.choice(len(NAMES), size=size, replace=False))]
        cases.append(Case(label, dict(w=numbers(rng, (size,)), names=chosen,
                                      lr=pick(rng, (0.1, 0.01, 0.5)),
                                      weight_decay=pick(rng, (0.1, 0.01, 0.5)))))
    cases.append(Case("only weight matrices", dict(
        w=numbers(rng, (3,)), names=["embed.weight", "layers.0.linear1.weight", "classifier.weight"],
        lr=0.1, weight_decay=0.5)))
    cases.append(Case("weight_decay = 0", dict(w=numbers(rng, (4,)), names=list(NAMES[:4]),
                                               lr=0.1, weight_decay=0.0)))
    return cases


def _decayed_norms(w, names, lr, weight_decay):
    keep = np.array([not name.endswith("bias") for name in names])
    return w * np.where(keep, 1 - lr * weight_decay, 1.0)


def _decayed_biases(w, names, lr, weight_decay):
    keep = np.array(["norm" not in name.lower() for name in names])
    return w * np.where(keep, 1 - lr * weight_decay, 1.0)


def _decayed_everything(w, names, lr, weight_decay):
    return w * (1 - lr * weight_decay)


def _excluded_everything(w, names, lr, weight_decay):
    return w * 1.0


def _dot_bias_only(w, names, lr, weight_decay):
    keep = np.array([not (name.endswith(".bias") or "norm" in name.lower()) for name in names])
    return w * np.where(keep, 1 - lr * weight_decay, 1.0)


def _decay_without_lr(w, names, lr, weight_decay):
    keep = np.array([not no_decay(name) for name in names])
    return w * np.where(keep, 1 - weight_decay, 1.0)


register(Exercise(
    name="decay_step", chapter=CHAPTER, reference=decay_step, make_cases=_decay_cases,
    returns=("w",),
    task="""
The decoupled weight decay of one AdamW step, w ← w − lr·λ·w, applied only where BERT's
recipe applies it: not to biases (names ending in "bias", which includes torch's
`in_proj_bias`) and not to LayerNorm parameters (names containing "norm" in any case:
`norm1.weight`, `LayerNorm.weight`, …). For the check each parameter tensor is one number:
`w[i]` is the parameter called `names[i]`. Return the new `w` (the gradient step is left out).
""",
    mistakes=(
        Mistake("decayed the LayerNorm weights",
                "A LayerNorm gain starts at 1 and sets the scale of its layer's output; decay pulls "
                "it to 0. Exclude every name containing \"norm\", weights as well as biases.",
                _decayed_norms),
        Mistake("decayed the biases",
                "Biases are excluded too: a name that ends in \"bias\" is not decayed.", _decayed_biases),
        Mistake("decayed every parameter",
                "This is what `AdamW(model.parameters(), weight_decay=...)` does: build two param "
                "groups, one with weight_decay=λ, one with weight_decay=0.", _decayed_everything),
        Mistake("excluded every parameter",
                "The weight matrices (embeddings, attention, feed-forward, classifier) are decayed: "
                "w ← (1 − lr·λ)·w.", _excluded_everything),
        Mistake("missed in_proj_bias",
                "torch's attention names its bias `in_proj_bias`: test `name.endswith(\"bias\")`, "
                "not `.endswith(\".bias\")`.", _dot_bias_only),
        Mistake("decay not multiplied by the learning rate",
                "AdamW's decay is w ← w − lr·λ·w: the factor is 1 − lr·λ, not 1 − λ.", _decay_without_lr),
    ),
))


# --- warmup_linear_lr ---------------------------------------------------------------------

def warmup_linear_lr(base_lr, t, warmup, total):
    schedule = optim.schedules.warmup_linear(warmup, total)
    factor = np.vectorize(schedule, otypes=[float])(t)
    return np.asarray(base_lr, dtype=float) * factor


def _warmup_cases(rng):
    cases = []
    for label, shape, warmup, total in [("one step, one rate", (), 10, 100),
                                        ("every step of a short run", (1,), 4, 12),
                                        ("every step of a short run", (1,), 3, 9),
                                        ("three param groups", (3,), 5, 20),
                                        ("two param groups", (2,), 6, 30),
                                        ("around the end of warm-up", (1,), 8, 40),
                                        ("past the end of training", (1,), 5, 10),
                                        ("warm-up of one step", (1,), 1, 6)]:
        if shape == ():
            base, t = float(np.round(rng.uniform(1e-5, 1e-3), 6)), int(rng.integers(1, warmup + 1))
        elif "groups" in label:
            base = np.round(rng.uniform(1e-5, 1e-3, size=shape), 6)
            t = int(rng.integers(1, total + 1))
        else:
            base = np.round(rng.uniform(1e-5, 1e-3, size=shape), 6)
            last = total + 3 if "past" in label else total
            start = max(1, warmup - 2) if "around" in label else 1
            t = np.arange(start, min(last, start + 8 if "around" in label else last) + 1)
        cases.append(Case(label, dict(base_lr=base, t=t, warmup=warmup, total=total)))
    return cases


def _no_warmup(base_lr, t, warmup, total):
    t = np.asarray(t)
    return np.asarray(base_lr, dtype=float) * np.minimum(1.0, np.maximum(0.0, (total - t) / (total - warmup)))


def _from_zero(base_lr, t, warmup, total):
    s = np.asarray(t, dtype=float) - 1
    return np.asarray(base_lr, dtype=float) * np.where(
        s <= warmup, s / warmup, np.maximum(0.0, (total - s) / (total - warmup)))


def _decay_over_total(base_lr, t, warmup, total):
    t = np.asarray(t, dtype=float)
    return np.asarray(base_lr, dtype=float) * np.where(t <= warmup, t / warmup, np.maximum(0.0, (total - t) / total))


def _negative(base_lr, t, warmup, total):
    t = np.asarray(t, dtype=float)
    return np.asarray(base_lr, dtype=float) * np.where(t <= warmup, t / warmup, (total - t) / (total - warmup))


def _factor_only(base_lr, t, warmup, total):
    return warmup_linear_lr(np.ones_like(np.asarray(base_lr, dtype=float)), t, warmup, total)


register(Exercise(
    name="warmup_linear_lr", chapter=CHAPTER, reference=warmup_linear_lr, make_cases=_warmup_cases,
    returns=("lr",),
    task="""
BERT's learning-rate schedule: at step t = 1, 2, … (the step about to be taken) the rate is
base_lr · t / warmup during the warm-up (t ≤ warmup), so that step `warmup` runs at the full
rate, then falls linearly, base_lr · (total − t) / (total − warmup), to 0 at t = total, and
stays 0 after it. `base_lr` is a number or an array (one rate per param group); `t` is an
integer or an array of steps; they broadcast. Return the learning rates.
""",
    mistakes=(
        Mistake("no warm-up (starts at the full rate)",
                "During the first `warmup` steps the rate climbs from base_lr/warmup to base_lr: "
                "multiply by t / warmup while t ≤ warmup.", _no_warmup),
        Mistake("steps counted from 0 (off by one)",
                "Steps are numbered from 1 here: the first step runs at base_lr/warmup, not 0, and "
                "step `warmup` at the full rate. (torch's LambdaLR passes 0 for the first step: "
                "add 1 before calling a schedule written this way.)", _from_zero),
        Mistake("decay divided by total instead of total minus warmup",
                "After the warm-up the rate must start at the full base_lr: the decay is "
                "(total − t) / (total − warmup), which is 1 at t = warmup.", _decay_over_total),
        Mistake("negative rate after the end",
                "After t = total the rate stays 0: clip the decay at 0 (a negative rate climbs "
                "the loss).", _negative),
        Mistake("returned the factor, not the rate",
                "Multiply the schedule's factor by base_lr.", _factor_only),
    ),
))
