#!/usr/bin/env python3
"""nanoGPT's training loop in PyTorch on Swiftlet's prepared token files: the quality reference.

Trains the same model nanoGPT's CPU Shakespeare baseline trains (4 layers, 4 heads, 128 wide, context 64,
batch 12, 2000 steps, lr 1e-3 -> 1e-4 cosine after 100 warm-up steps, AdamW betas (0.9, 0.99), weight decay
0.1 on 2-D tensors, clipping 1.0, dropout 0) on the same train.npy / val.npy that `pretrain` trains on, and
prints the validation loss (mean over --eval-batches random batches) every --eval-every steps as JSON lines.
nanoGPT's model has no biases and exact (erf) GELU by default; --gpt2 switches to GPT-2's biases and tanh
GELU, which is what Swiftlet trains.

  python3 scripts/nanogpt_reference_train.py --data checkpoints/shakespeare/data
"""
import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, width, heads, bias, tanh_gelu):
        super().__init__()
        self.heads, self.tanh = heads, tanh_gelu
        self.ln_1 = nn.LayerNorm(width, bias=bias)
        self.c_attn = nn.Linear(width, 3 * width, bias=bias)
        self.attn_proj = nn.Linear(width, width, bias=bias)
        self.ln_2 = nn.LayerNorm(width, bias=bias)
        self.c_fc = nn.Linear(width, 4 * width, bias=bias)
        self.mlp_proj = nn.Linear(4 * width, width, bias=bias)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.attn_proj(y.transpose(1, 2).contiguous().view(b, t, c))
        h = F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh" if self.tanh else "none")
        return x + self.mlp_proj(h)


class GPT(nn.Module):
    def __init__(self, layers, heads, width, context, vocab, bias, tanh_gelu):
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.wpe = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads, bias, tanh_gelu) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width, bias=bias)
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("attn_proj.weight") or name.endswith("mlp_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * layers))

    @staticmethod
    def _init(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True, help="a directory prepared by `pretrain prepare`")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--eval-batches", type=int, default=200)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gpt2", action="store_true", help="biases and tanh GELU, as Swiftlet and GPT-2")
    a = p.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    train = torch.from_numpy(np.load(f"{a.data}/train.npy").astype(np.int64))
    val = torch.from_numpy(np.load(f"{a.data}/val.npy").astype(np.int64))
    vocab = int(max(train.max(), val.max())) + 1
    layers, heads, width, context, batch = 4, 4, 128, 64, 12
    lr, min_lr, warmup = 1e-3, 1e-4, 100
    model = GPT(layers, heads, width, context, vocab, bias=a.gpt2, tanh_gelu=a.gpt2)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.99))

    def batch_of(data):
        ix = torch.randint(len(data) - context, (batch,))
        x = torch.stack([data[i:i + context] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + context] for i in ix])
        return x, y

    def lr_at(it):  # nanoGPT's get_lr
        if it < warmup:
            return lr * (it + 1) / (warmup + 1)
        ratio = (it - warmup) / (a.steps - warmup)
        return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)

    @torch.no_grad()
    def val_loss():
        model.eval()
        losses = [model(*batch_of(val)).item() for _ in range(a.eval_batches)]
        model.train()
        return sum(losses) / len(losses)

    start = time.time()
    for it in range(1, a.steps + 1):
        for group in opt.param_groups:
            group["lr"] = lr_at(it - 1)
        loss = model(*batch_of(train))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if it % a.eval_every == 0 or it == a.steps:
            print(json.dumps({"step": it, "train_loss": round(loss.item(), 4), "val_loss": round(val_loss(), 4),
                              "elapsed_s": round(time.time() - start, 1)}), flush=True)


if __name__ == "__main__":
    main()
