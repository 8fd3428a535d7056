#!/usr/bin/env python3
"""PyTorch reference for Swiftlet's GPT: loads a Swiftlet checkpoint directory with Hugging Face transformers,
runs a fixed batch, and writes logits, loss and every parameter's gradient, then the losses of N AdamW steps.

Regenerate the committed fixture (run from the package root; torch is needed only here, never by swift test):
    SWIFTLET_WRITE_PARITY_FIXTURE=1 swift test --filter writeParityFixture   # Swift writes checkpoint/ + batch.json
    python3 scripts/torch_reference.py Tests/GPTTests/Fixtures/parity         # writes torch_reference.{safetensors,json}

Inputs in FIXTURE_DIR: checkpoint/ (config.json, model.safetensors written by Swiftlet) and batch.json (tokens,
targets, batch, time and the AdamW settings). Outputs in FIXTURE_DIR:
    torch_reference.safetensors  "logits" [B, T, V] and "grad.<name>" for every parameter (F32)
    torch_reference.json         loss, the losses of the AdamW steps, versions
    hf_saved/                    the loaded model written back by GPT2LMHeadModel.save_pretrained
The optimizer mirrors Swiftlet: torch.optim.AdamW with weight decay on the 2-D tensors only, global-norm
clipping of the gradient before every step, the same batch every step, loss = mean cross-entropy.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
import transformers
from safetensors.torch import save_file
from transformers import GPT2LMHeadModel


def main(fixture_dir):
    with open(os.path.join(fixture_dir, "batch.json")) as f:
        batch = json.load(f)
    B, T = batch["batch"], batch["time"]
    tokens = torch.tensor(batch["tokens"], dtype=torch.long).view(B, T)
    targets = torch.tensor(batch["targets"], dtype=torch.long).view(B, T)

    torch.manual_seed(0)
    model = GPT2LMHeadModel.from_pretrained(os.path.join(fixture_dir, "checkpoint"),
                                            torch_dtype=torch.float32, attn_implementation="eager")
    model.eval()  # dropout is 0 anyway; eval makes it certain
    assert model.lm_head.weight is model.transformer.wte.weight, "LM head must be tied"
    # The same weights as transformers itself saves them, for Swiftlet's reader of Hugging Face checkpoints.
    model.save_pretrained(os.path.join(fixture_dir, "hf_saved"), safe_serialization=True)

    def loss_of():
        logits = model(input_ids=tokens).logits  # [B, T, V]
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss

    model.zero_grad()
    logits, loss = loss_of()
    loss.backward()
    tensors = {"logits": logits.detach().contiguous()}
    for name, p in model.named_parameters():  # tied head listed once, as transformer.wte.weight
        tensors["grad." + name] = p.grad.detach().contiguous()

    # N AdamW steps on the same batch, starting from the checkpoint's weights (fresh moments).
    model.zero_grad()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": batch["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=batch["learning_rate"], betas=(batch["beta1"], batch["beta2"]), eps=batch["epsilon"])
    step_losses, grad_norms = [], []
    for _ in range(batch["steps"]):
        optimizer.zero_grad(set_to_none=True)
        _, step_loss = loss_of()
        step_loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), batch["gradient_clip"])
        optimizer.step()
        step_losses.append(step_loss.item())
        grad_norms.append(norm.item())

    save_file(tensors, os.path.join(fixture_dir, "torch_reference.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(fixture_dir, "torch_reference.json"), "w") as f:
        json.dump({"loss": loss.item(), "step_losses": step_losses, "gradient_norms": grad_norms,
                   "torch": torch.__version__, "transformers": transformers.__version__}, f, indent=1)
    print(f"loss {loss.item():.6f}; step losses {[round(x, 5) for x in step_losses]}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: torch_reference.py FIXTURE_DIR")
    main(sys.argv[1])
