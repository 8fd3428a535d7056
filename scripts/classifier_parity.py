#!/usr/bin/env python3
"""Golden logits for Swiftlet's sequence classifier from transformers' GPT2ForSequenceClassification.

Loads a classifier checkpoint written by `finetune --task classify` (config.json + model.safetensors) with
transformers, runs a few right-padded token batches (padding = config.pad_token_id, which transformers uses
to find each row's last real token), and stores tokens, lengths and logits as JSON. The Swift test
(Tests/FinetuneTests/ClassifierParityTests.swift) loads the same checkpoint and compares, without torch.

    python3 scripts/classifier_parity.py Tests/FinetuneTests/Fixtures/tiny-classifier \
        Tests/FinetuneTests/Fixtures/classifier-logits.json
"""
import json
import random
import sys

import torch
from transformers import GPT2ForSequenceClassification


def main(checkpoint, output):
    model = GPT2ForSequenceClassification.from_pretrained(checkpoint)
    model.eval()
    config = model.config
    pad = config.pad_token_id
    rng = random.Random(1234)
    batches = []
    for lengths in ([5, 12, 1], [config.n_positions, 3], [7]):
        time = max(lengths)
        rows = []
        for n in lengths:
            real = []
            while len(real) < n:
                t = rng.randrange(config.vocab_size)
                if t != pad:
                    real.append(t)
            rows.append(real + [pad] * (time - n))
        with torch.no_grad():
            logits = model(input_ids=torch.tensor(rows)).logits
        batches.append({"tokens": rows, "lengths": lengths, "logits": logits.tolist()})
    result = {
        "labels": [config.id2label[i] for i in range(config.num_labels)],
        "pad_token_id": pad,
        "batches": batches,
    }
    with open(output, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {output}: {len(batches)} batches, labels {result['labels']}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
