"""optim.torch inside Hugging Face's Trainer, on the case study's real pre-trained BERT.

A reader's fine-tuning script hands its own optimizer and scheduler to the Trainer
(``optimizers=(opt, sched)``). With ``optim.torch.AdamW`` and an ``optim.schedules``
schedule, the Trainer must train, save a checkpoint (optimizer and scheduler state
included) and, resumed from it in a fresh process state, end on the very weights of
an uninterrupted run.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

import accelerate  # noqa: F401  (the Trainer needs it; a requirement, so missing it fails)
import transformers
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "chapters"))

import optim.schedules  # noqa: E402
import optim.torch  # noqa: E402
from finetuning_lab import bert, ner_corpus  # noqa: E402

STEPS, SAVE_AT = 6, 3


def _dataset():
    enc = bert.encode(ner_corpus.make_sentences(24, seed=3))
    return [{"input_ids": enc.ids[i].tolist(), "labels": enc.labels[i].tolist()}
            for i in range(len(enc.ids))]


def _trainer(out: Path):
    model = bert.load_model(seed=0)
    opt = optim.torch.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    sched = optim.schedules.warmup_linear(warmup=2, total=STEPS).torch(opt)
    args = transformers.TrainingArguments(
        output_dir=str(out), max_steps=STEPS, per_device_train_batch_size=4, save_steps=SAVE_AT,
        save_strategy="steps", logging_strategy="no", report_to=[], seed=0, data_seed=0,
        use_cpu=True, dataloader_num_workers=0, disable_tqdm=True)
    collate = transformers.DataCollatorForTokenClassification(bert.tokenizer())
    return transformers.Trainer(model=model, args=args, train_dataset=_dataset(),
                                data_collator=collate, optimizers=(opt, sched))


def _weights(trainer):
    return {n: p.detach().clone() for n, p in trainer.model.named_parameters()}


def test_trainer_runs_saves_and_resumes_optim_torch_exactly(tmp_path):
    torch.set_num_threads(1)
    straight = _trainer(tmp_path / "straight")
    straight.train()
    assert isinstance(straight.optimizer.optimizer if hasattr(straight.optimizer, "optimizer")
                      else straight.optimizer, optim.torch.AdamW)
    checkpoint = tmp_path / "straight" / f"checkpoint-{SAVE_AT}"
    assert (checkpoint / "optimizer.pt").exists() and (checkpoint / "scheduler.pt").exists()

    resumed = _trainer(tmp_path / "resumed")
    resumed.train(resume_from_checkpoint=str(checkpoint))
    a, b = _weights(straight), _weights(resumed)
    moved = max((a[n] - bert.load_model(seed=0).state_dict()[n]).abs().max().item()
                for n in ("classifier.weight",))
    assert moved > 0, "training moved nothing"
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=0, atol=0, msg=name)
    assert resumed.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"]
