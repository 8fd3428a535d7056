#!/usr/bin/env python3
"""Builds Swiftlet's default corpora (corpora/*) from Debian's bible-kjv package.

    sudo apt-get install bible-kjv && python3 scripts/build_corpora.py

Writes, deterministically (fixed random seed):
  corpora/kjv.txt                     the King James Bible, one verse a line, references removed
  corpora/kjv-sections-train.jsonl    {"text", "label"}: verses labelled with their part of the Bible
  corpora/kjv-sections-test.jsonl     (400 verses a label, split 320 / 80)
  corpora/proverbs-completion.jsonl   {"prompt", "completion"}: first half of a verse of Proverbs,
                                      Psalms or Ecclesiastes -> its second half (Hebrew parallelism)
"""
import json
import os
import random
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "corpora")

# Book abbreviations as `bible` prints them, grouped into the traditional parts of the Bible.
SECTIONS = {
    "law": "Ge Exo Lev Num Deu",
    "history": "Josh Jdgs Ruth 1Sm 2Sm 1Ki 2Ki 1Chr 2Chr Ezra Neh Est",
    "wisdom": "Job Psa Prv Eccl SSol",
    "major-prophets": "Isa Jer Lam Eze Dan",
    "minor-prophets": "Hos Joel Amos Obad Jonah Mic Nahum Hab Zep Hag Zec Mal",
    "gospels": "Mat Mark Luke John",
    "letters": "Acts Rom 1Cor 2Cor Gal Eph Phi Col 1Th 2Th 1Tim 2Tim Titus Phmn Heb Jas 1Pet 2Pet 1Jn 2Jn 3Jn Jude",
    "apocalypse": "Rev",
}
BOOK_SECTION = {book: section for section, books in SECTIONS.items() for book in books.split()}
PER_LABEL = 400          # Revelation has 404 verses: every label gets the same count
TEST_PER_LABEL = 80
REFERENCE = re.compile(r"^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$")


def verses():
    """(book, chapter, verse, text) for the whole Bible, in order."""
    try:
        text = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], check=True, capture_output=True,
                              text=True, encoding="utf-8").stdout
    except FileNotFoundError:
        sys.exit("error: the `bible` program is missing; install Debian's bible-kjv package")
    result = []
    for line in text.splitlines():
        match = REFERENCE.match(line)
        if not match:
            sys.exit(f"error: unexpected line from bible: {line!r}")
        book, chapter, verse, body = match.groups()
        if book not in BOOK_SECTION:
            sys.exit(f"error: unknown book abbreviation {book!r}")
        result.append((book, int(chapter), int(verse), body.strip()))
    return result


def split_parallelism(text):
    """Splits a verse at the ';' or ':' nearest its middle; None when a half would be under 3 words."""
    cuts = [i for i, c in enumerate(text) if c in ";:"]
    if not cuts:
        return None
    cut = min(cuts, key=lambda i: abs(i - len(text) / 2))
    prompt, completion = text[:cut + 1], text[cut + 1:]
    if len(prompt.split()) < 3 or len(completion.split()) < 3:
        return None
    return prompt, completion


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    all_verses = verses()
    with open(os.path.join(OUT, "kjv.txt"), "w", encoding="utf-8") as f:
        for _, _, _, text in all_verses:
            f.write(text + "\n")

    rng = random.Random(1611)
    train, test = [], []
    for section in SECTIONS:
        pool = [text for book, _, _, text in all_verses if BOOK_SECTION[book] == section]
        chosen = rng.sample(pool, PER_LABEL)
        rows = [{"text": text, "label": section} for text in chosen]
        test += rows[:TEST_PER_LABEL]
        train += rows[TEST_PER_LABEL:]
    rng.shuffle(train)
    rng.shuffle(test)
    write_jsonl(os.path.join(OUT, "kjv-sections-train.jsonl"), train)
    write_jsonl(os.path.join(OUT, "kjv-sections-test.jsonl"), test)

    pairs = []
    for book, _, _, text in all_verses:
        if book in ("Prv", "Psa", "Eccl"):
            split = split_parallelism(text)
            if split:
                pairs.append({"prompt": split[0], "completion": split[1]})
    write_jsonl(os.path.join(OUT, "proverbs-completion.jsonl"), pairs)
    print(f"kjv.txt: {len(all_verses)} verses; sections: {len(train)} train / {len(test)} test; "
          f"completion pairs: {len(pairs)}")


if __name__ == "__main__":
    main()
