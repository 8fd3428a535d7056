#!/bin/sh
# Regenerates Tests/GenerationTests/Fixtures/tiny-kjv: a tiny GPT (2 layers, 2 heads, 64 wide, context 32,
# 256-piece BPE) trained for 150 steps on the first 200 kB of corpora/kjv.txt, with seed 1 and 1 thread.
# Only config.json, model.safetensors and tokenizer.model are kept (no optimizer state).
# After regenerating, update the golden strings in Tests/GenerationTests/GoldenTests.swift (the test
# prints the new text when it fails).
set -eu
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c 200000 corpora/kjv.txt > "$work/kjv-200k.txt"
swift build --product pretrain
.build/debug/pretrain train --corpus "$work/kjv-200k.txt" --vocab-size 256 --layers 2 --heads 2 --width 64 \
    --context 32 --batch-size 8 --steps 150 --warmup-steps 10 --lr 3e-3 --eval-every 0 --seed 1 --threads 1 \
    --out "$work/run"
fixture=Tests/GenerationTests/Fixtures/tiny-kjv
rm -rf "$fixture"
mkdir -p "$fixture"
cp "$work/run/latest/config.json" "$work/run/latest/model.safetensors" "$work/run/latest/tokenizer.model" "$fixture/"
ls -l "$fixture"
