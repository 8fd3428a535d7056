#!/usr/bin/env python3
"""PyTorch reference for `bench train`: times whole training steps of the same GPT-2 model on the CPU.

The model is nanogpt_reference_train.py's (nanoGPT's: pre-LayerNorm blocks, fused qkv projection, causal
scaled_dot_product_attention, tied LM head) with GPT-2's biases and tanh GELU, trained in eager fp32 with AdamW (fused=False,
foreach=True, PyTorch's CPU default) and global-norm clipping 1.0, on random tokens. It prints one JSON
object, in the format of `bench train --json`:

  {"name": "train_reference", "tokens_per_s": .., "ms_per_step": .., "mfu": .., "peak_rss_mb": ..}

  python3 scripts/torch_train_bench.py --layers 4 --heads 4 --width 128 --context 64 --batch-size 12 --vocab 65

With --serve it builds the model and warms up once, then times a round for every line read from standard input
(the line is the number of steps; each round first runs --warmup untimed steps, as `bench train` does on its own
side, and the median step of the round is printed as one such JSON line), until the end of input. `bench train` drives it so, alternating short rounds of both sides without restarting Python.
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch

# The same model as the quality reference, with GPT-2's biases and tanh GELU (as Swiftlet trains).
from nanogpt_reference_train import GPT


def training_flops_per_token(layers: int, width: int, context: int, vocab: int) -> float:
    """6 flops per parameter-token for the matmuls (forward 2, backward 4), plus causal attention:
    QK^T and PV cost 2*T*C each per token and layer in the forward for the full square; the causal half is
    what a kernel that skips the mask does, and that is what both sides are credited with."""
    matmul_params = layers * 12 * width * width + vocab * width
    attention = layers * 2 * 2 * context * width / 2
    return 6 * matmul_params + 3 * attention


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--context", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=12)
    p.add_argument("--vocab", type=int, default=65)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--peak-gflops", type=float, default=500.0)
    p.add_argument("--serve", action="store_true", help="time a round for each line of stdin (its step count)")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = GPT(a.layers, a.heads, a.width, a.context, a.vocab, bias=True, tanh_gelu=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    tokens = torch.randint(0, a.vocab, (a.batch_size, a.context + 1))
    x, y = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()

    def step_seconds() -> float:
        t0 = time.perf_counter()
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return time.perf_counter() - t0

    def report(step_s: float) -> None:
        tokens_per_step = a.batch_size * a.context
        flops = training_flops_per_token(a.layers, a.width, a.context, a.vocab) * tokens_per_step
        print(json.dumps({
            "name": "train_reference",
            "tokens_per_s": round(tokens_per_step / step_s, 1),
            "ms_per_step": round(step_s * 1e3, 3),
            "mfu": round(flops / step_s / (a.peak_gflops * 1e9), 4),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "torch": torch.__version__,
            "threads": a.threads,
        }), flush=True)

    for _ in range(a.warmup):
        step_seconds()
    if not a.serve:
        report(statistics.median(step_seconds() for _ in range(a.steps)))
        return
    for line in sys.stdin:
        steps = int(line)
        for _ in range(a.warmup):   # as Swiftlet's rounds: the first steps after the other side ran are untimed
            step_seconds()
        report(statistics.median(step_seconds() for _ in range(max(1, steps))))


if __name__ == "__main__":
    main()
