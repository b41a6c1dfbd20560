"""The small labelled review dataset bundled for `kerabert demo`."""

import csv
import os

_DIR = os.path.join(os.path.dirname(__file__), "demo")
LABELS = ("negative", "positive")


def load_demo_reviews(split):
    """Returns `(texts, labels)` for split "train" (320) or "heldout" (120)."""
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', got {split!r}.")
    path = os.path.join(_DIR, f"reviews_{split}.tsv")
    texts, labels = [], []
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            texts.append(row["text"])
            labels.append(int(row["label"]))
    return texts, labels
