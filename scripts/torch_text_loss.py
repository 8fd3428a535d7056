#!/usr/bin/env python3
"""The reference for `pretrain evaluate`: a checkpoint's loss over a whole token file, in PyTorch.

Loads a Swiftlet checkpoint with transformers (GPT2LMHeadModel) and scores every token of a .npy token file
but the first exactly once, with the windows `pretrain evaluate` uses: windows of the model's context starting
at 0, stride, 2 stride, ... while they fit, then one ending at the last token; each window scores only the
targets no earlier window scored. Prints the tokens scored and the mean loss in nats as JSON.

  python3 scripts/torch_text_loss.py --checkpoint checkpoints/default/best --tokens checkpoints/default/data/val.npy
"""
import argparse
import json

import numpy as np
import torch
from transformers import GPT2LMHeadModel


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--tokens", required=True, help="a .npy file of token ids (train.npy, val.npy)")
    parser.add_argument("--stride", type=int, help="default: the context")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model = GPT2LMHeadModel.from_pretrained(args.checkpoint).eval()
    tokens = torch.from_numpy(np.load(args.tokens).astype(np.int64))
    n = len(tokens)
    if n < 2:
        parser.error(f"{args.tokens}: {n} tokens; a text needs 2 at least")
    length = min(model.config.n_positions, n - 1)
    stride = length if args.stride is None else args.stride
    if not 1 <= stride <= model.config.n_positions:
        parser.error(f"--stride must lie in 1..{model.config.n_positions} (the context)")
    stride = min(stride, length)
    last = n - 1 - length
    starts = list(range(0, last + 1, stride))
    if starts[-1] != last:
        starts.append(last)

    total, scored, scored_end = 0.0, 0, None   # scored_end: the last target scored so far
    with torch.no_grad():
        for i in range(0, len(starts), args.batch_size):
            batch = starts[i:i + args.batch_size]
            x = torch.stack([tokens[s:s + length] for s in batch])
            y = torch.stack([tokens[s + 1:s + length + 1] for s in batch])
            log_probs = torch.log_softmax(model(x).logits.double(), dim=-1).gather(-1, y[..., None])[..., 0]
            for row, start in enumerate(batch):
                first = 0 if scored_end is None else scored_end - start
                total -= log_probs[row, first:].sum().item()
                scored += length - first
                scored_end = start + length
    print(json.dumps({"tokens": scored, "mean_loss": total / scored, "context": length, "stride": stride}))


if __name__ == "__main__":
    main()
