"""The fine-tuning chapter's laboratory.

The case study itself runs on a real pre-trained BERT: :mod:`finetuning_lab.bert`
(the model, BERT's training loop), :mod:`finetuning_lab.ner_corpus` (the data),
:mod:`finetuning_lab.reader_setups` (the reader's TensorFlow optimizers, transcribed)
and :mod:`finetuning_lab.experiments` (the runs; ``python -m finetuning_lab reproduce``).

This module is the *tiny* lab, for experiments that take seconds (the chapter's
exercises): a synthetic language, a tiny BERT, pre-training, fine-tuning. Everything is
seeded and generated here; nothing is downloaded.

* :func:`make_corpus` writes sentences of a small seeded grammar. Some words are names;
  whether a name is a person, a place, an organisation or no entity at all is decided
  by its context only ("dr kora vel" is a person, "to kora vel" a place, "kora vel
  ltd" a company, "the kora house" no entity). About 94% of tokens are O.
* :class:`TinyBert` is BERT in miniature: token and position embeddings, a LayerNorm,
  post-LN transformer encoder layers (as BERT's), and two heads: masked-word
  prediction (pre-training) and a tag classifier (fine-tuning).
* :func:`pretrain` trains it as a masked language model; :func:`finetune` trains a
  copy to tag entities with any optimizer and reports entity-level F1 with
  :func:`optim.exercises.finetuning.entity_scores`.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from optim.exercises.finetuning import entity_scores

TAG_NAMES = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
LENGTH = 24

_SYLLABLES = ("ka", "to", "ri", "mel", "van", "dor", "si", "lu", "ber", "no", "ta", "gan")
NAMES = tuple(dict.fromkeys(a + b for a in _SYLLABLES for b in _SYLLABLES if a != b))[:36]
NOUNS = ("house", "river", "report", "market", "letter", "plan", "road", "city", "team", "deal",
         "boat", "song", "price", "storm", "bridge", "school")
VERBS = ("saw", "met", "sold", "wrote", "left", "joined", "built", "signed", "called", "found")
TITLES = ("mr", "ms", "dr")          # before a person
PLACES = ("in", "to", "from", "near")  # before a place, or before "the NOUN"
COMPANY = ("ltd", "inc", "corp")     # after an organisation
WORDS = ("[pad]", "[mask]", "the", "a", "and", "of", "with", ".") + TITLES + PLACES + COMPANY \
    + NOUNS + VERBS + NAMES
INDEX = {word: i for i, word in enumerate(WORDS)}
PAD, MASK = 0, 1


def _name(rng):
    return [NAMES[int(rng.integers(len(NAMES)))] for _ in range(int(rng.integers(1, 3)))]


def _noun_phrase(rng, p_entity):
    """A noun phrase and its tags: a person, an organisation, or an ordinary noun."""
    u = rng.random()
    if u < p_entity / 2:
        name = _name(rng)
        return [TITLES[int(rng.integers(3))]] + name, [0, 1] + [2] * (len(name) - 1)
    if u < p_entity:
        name = _name(rng)
        return name + [COMPANY[int(rng.integers(3))]], [5] + [6] * (len(name) - 1) + [0]
    if u < p_entity + 0.25:   # a name used as an ordinary word: no entity
        return ["the", NAMES[int(rng.integers(len(NAMES)))], NOUNS[int(rng.integers(len(NOUNS)))]], [0, 0, 0]
    return [("the", "a")[int(rng.integers(2))], NOUNS[int(rng.integers(len(NOUNS)))]], [0, 0]


def _clause(rng, p_entity):
    words, tags = [], []
    for part in (_noun_phrase(rng, p_entity), ([VERBS[int(rng.integers(len(VERBS)))]], [0]),
                 _noun_phrase(rng, p_entity)):
        words += part[0]
        tags += part[1]
    if rng.random() < 0.6:   # a place, or "in the NOUN"
        words.append(PLACES[int(rng.integers(len(PLACES)))])
        tags.append(0)
        if rng.random() < p_entity:
            name = _name(rng)
            words += name
            tags += [3] + [4] * (len(name) - 1)
        else:
            words += ["the", NOUNS[int(rng.integers(len(NOUNS)))]]
            tags += [0, 0]
    return words + ["."], tags + [0]


def make_corpus(n: int, seed: int, p_entity: float = 0.1, length: int = LENGTH):
    """``n`` sentences of ``length`` token ids (padded) and their BIO tags, as int64 tensors."""
    rng = np.random.default_rng(seed)
    tokens = np.full((n, length), PAD, dtype=np.int64)
    tags = np.zeros((n, length), dtype=np.int64)
    for row in range(n):
        words, labels = [], []
        while True:
            w, t = _clause(rng, p_entity)
            if len(words) + len(w) > length:
                break
            words, labels = words + w, labels + t
        tokens[row, :len(words)] = [INDEX[w] for w in words]
        tags[row, :len(labels)] = labels
    return torch.from_numpy(tokens), torch.from_numpy(tags)


def show(tokens, tags, width=76):
    """A sentence with its entities in brackets: ``dr [kora vel]PER saw ...``."""
    out, open_kind = [], None
    for tok, tag in zip(tokens.tolist(), tags.tolist()):
        if tok == PAD:
            break
        kind = TAG_NAMES[tag][2:] if tag else None
        if open_kind and (tag % 2 == 1 or tag == 0):
            out[-1] += f"]{open_kind}"
            open_kind = None
        word = WORDS[tok]
        if tag and open_kind is None:
            word, open_kind = "[" + word, kind
        out.append(word)
    if open_kind:
        out[-1] += f"]{open_kind}"
    text = " ".join(out)
    return text if len(text) <= width else text[:width - 1] + "…"


class TinyBert(nn.Module):
    """BERT in miniature: embeddings + LayerNorm, post-LN encoder layers, two heads."""

    def __init__(self, d=64, layers=2, heads=4, ff=128, n_tags=len(TAG_NAMES), seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.embed = nn.Embedding(len(WORDS), d)
        self.pos = nn.Embedding(LENGTH, d)
        self.embed_norm = nn.LayerNorm(d)
        layer = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, batch_first=True,
                                           activation="gelu")
        self.layers = nn.ModuleList(copy.deepcopy(layer) for _ in range(layers))
        self.mlm = nn.Linear(d, len(WORDS))
        self.classifier = nn.Linear(d, n_tags)
        for name, p in self.named_parameters():   # BERT's initialisation: N(0, 0.02), zero biases
            if p.dim() > 1:
                nn.init.normal_(p, std=0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def encode(self, tokens):
        positions = torch.arange(tokens.shape[1])
        h = self.embed_norm(self.embed(tokens) + self.pos(positions))
        padding = tokens == PAD
        for layer in self.layers:
            h = layer(h, src_key_padding_mask=padding)
        return h

    def forward(self, tokens):
        """Tag scores, (sentences × tokens × tags)."""
        return self.classifier(self.encode(tokens))


def pretrain(model, steps=400, batch=64, lr=2e-3, seed=0, progress=None):
    """Masked-language-model pre-training on fresh sentences (15% of words masked)."""
    tokens, _ = make_corpus(steps * batch // 4, seed=1000 + seed)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: min(1.0, (k + 1) / 40))
    losses = []
    for step in (progress or (lambda x: x))(range(steps)):
        idx = torch.randint(len(tokens), (batch,), generator=g)
        x = tokens[idx]
        masked = (torch.rand(x.shape, generator=g) < 0.15) & (x != PAD)
        logits = model.mlm(model.encode(torch.where(masked, MASK, x)))
        loss = nn.functional.cross_entropy(logits[masked], x[masked])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


def evaluate(model, tokens, tags):
    """(entity precision, recall, F1, token accuracy, loss) on the non-padding tokens."""
    model.eval()
    with torch.no_grad():
        logits = model(tokens)
    model.train()
    real = tokens != PAD
    loss = nn.functional.cross_entropy(logits[real], tags[real]).item()
    scores = logits.numpy().astype(np.float64)
    scores[~real.numpy()] = np.eye(len(TAG_NAMES))[0] * 1e9   # padding counts as O
    precision, recall, f1 = entity_scores(tags.numpy(), scores)
    accuracy = (logits.argmax(-1)[real] == tags[real]).float().mean().item()
    return dict(precision=precision, recall=recall, f1=f1, accuracy=accuracy, loss=loss)


def finetune(pretrained, make_optimizer, train, test, steps=150, batch=16, seed=0,
             schedule=None, every=0):
    """Fine-tune a copy of ``pretrained`` to tag entities.

    ``make_optimizer(model)`` returns the optimizer; ``schedule`` (an
    ``optim.schedules.Schedule``) multiplies its learning rate step by step.
    Returns the training losses, the final test scores and, every ``every`` steps,
    the test F1 along the way (``"f1_curve"``, a list of (step, F1)).
    """
    model = copy.deepcopy(pretrained)
    opt = make_optimizer(model)
    sched = schedule.torch(opt) if schedule is not None else None
    g = torch.Generator().manual_seed(seed)
    tokens, tags = train
    losses, f1_curve = [], []
    for step in range(1, steps + 1):
        idx = torch.randint(len(tokens), (batch,), generator=g)
        x, y = tokens[idx], tags[idx]
        logits = model(x)
        real = x != PAD
        loss = nn.functional.cross_entropy(logits[real], y[real])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        losses.append(loss.item())
        if every and step % every == 0:
            f1_curve.append((step, evaluate(model, *test)["f1"]))
    return dict(losses=np.array(losses), f1_curve=f1_curve, model=model, **evaluate(model, *test))


def param_groups(model, weight_decay):
    """Two param groups: decay for weight matrices, none for biases and LayerNorm (BERT's recipe)."""
    from optim.exercises.finetuning import no_decay
    named = list(model.named_parameters())
    return [{"params": [p for n, p in named if not no_decay(n)], "weight_decay": weight_decay},
            {"params": [p for n, p in named if no_decay(n)], "weight_decay": 0.0}]

