r"""Pretrain a tiny BERT from scratch on one book, then show that it helps fine-tuning.

Offline and end to end, on the Apache-2.0 corpus of the test fixtures
(`tests/fixtures/botchan.txt`, Natsume's *Botchan* in English):

1. The book (Gutenberg header and licence cut off) is split into chapters
   (documents) and sentences (one per line), as `bert_pretraining_dataset`
   reads text. The last chapter is HELD OUT: it is never pretrained on and
   serves as the evaluation text for both the masked LM and the fine-tuning.
2. A WordPiece-style vocabulary comes from
   `kerabert.data.bert_pretraining.frequency_vocabulary(botchan.txt, ...)`, a
   tiny fresh `kerabert.BertBackbone` (2 layers, hidden 128) is wrapped in a
   `kerabert.BertPretrainer` with a `BertPretrainerPreprocessor` (length 64,
   15 % dynamic masking, 20 slots) and pretrained on masked LM + next sentence
   with `bert_pretraining_dataset` (pairs and masks re-drawn every epoch).
   Masked-LM accuracy is printed per epoch on the training stream and on the
   held-out chapter, next to two baselines computed on the data: chance
   (1 / vocabulary size) and the majority token (always predict the token
   that is most frequent among the masked training tokens).
3. The pretrainer is saved with `save_to_preset`; a
   `kerabert.BertClassifier.from_preset(folder, num_classes=2)` loads its
   backbone and is fine-tuned briefly on a task made from the book. Default
   (`--task word-order`): is a sentence as written, or are its words shuffled?
   Both classes have the same words, so only word order tells them apart.
   `--task next-sentence`: does sentence B follow sentence A, or is it a random
   sentence of the same part of the book? (At this size and budget both
   models stay near chance on it, as the pretrainer's own next-sentence
   accuracy, ~58 %, suggests.) Train examples come from the pretraining
   chapters, test examples from the held-out one. The same classifier with a
   randomly initialised backbone (`from_preset(folder, num_classes=2,
   load_weights=False)`: same vocabulary, size, recipe, data, steps and seed)
   is the baseline.

    python examples/pretrain_bert.py                       # ~3 min on 2 CPU cores
    python examples/pretrain_bert.py --quick               # smoke: a few steps of each stage
    python examples/pretrain_bert.py --output my_tiny_bert  # keep the pretrained preset
"""

import argparse
import collections
import os
import random
import re
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

import kerabert
from kerabert.data.bert_pretraining import bert_pretraining_dataset
from kerabert.data.bert_pretraining import frequency_vocabulary

HERE = os.path.dirname(os.path.abspath(__file__))
BOTCHAN = os.path.join(HERE, "..", "tests", "fixtures", "botchan.txt")


# --- corpus --------------------------------------------------------------------


def read_book(path):
    """botchan.txt -> list of chapters, each a list of sentences (str).

    The Gutenberg header and licence are cut off; the translator's note is the
    first "chapter". Lines are re-flowed and split after . ! ? (a rough
    sentence splitter, good enough for this book)."""
    with open(path, encoding="utf-8-sig") as f:
        lines = f.read().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("*** START")) + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("*** END"))
    chapters, current = [], []
    for line in lines[start:end]:
        if re.fullmatch(r"CHAPTER [IVXL]+\.?", line.strip()):
            chapters.append(current)
            current = []
        else:
            current.append(line.strip())
    chapters.append(current)
    result = []
    for chapter in chapters:
        text = " ".join(line for line in chapter if line)
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])[\"']?\s+", text)]
        sentences = [s for s in sentences if len(s.split()) >= 3]
        if sentences:
            result.append(sentences)
    return result


def write_documents(chapters, path):
    """One sentence per line, a blank line between documents."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n\n".join("\n".join(chapter) for chapter in chapters) + "\n")


def next_sentence_task(chapters, n, seed):
    """n examples ((A, B), label): 1 = B is the sentence after A, 0 = B is a random
    sentence from anywhere in these chapters; half and half."""
    rng = random.Random(seed)
    every = [s for chapter in chapters for s in chapter]
    consecutive = [(c[i], c[i + 1]) for c in chapters for i in range(len(c) - 1)]
    first, second, labels = [], [], []
    for _ in range(n):
        a, b = rng.choice(consecutive)
        label = rng.randrange(2)
        if not label:
            b = rng.choice(every)
            while b == a:
                b = rng.choice(every)
        first.append(a)
        second.append(b)
        labels.append(label)
    return (first, second), np.array(labels, dtype="int32")


def word_order_task(chapters, n, seed):
    """n examples (sentence, label): 1 = a sentence of the book as written, 0 = the
    same sentence with its words (whitespace-separated) shuffled; half and half.
    The words, and so the bag of tokens, are the same in both classes: only word
    order tells them apart, which is what masked-LM pretraining learns about."""
    rng = random.Random(seed)
    every = [s for chapter in chapters for s in chapter]
    texts, labels = [], []
    for _ in range(n):
        sentence = rng.choice(every)
        label = rng.randrange(2)
        if not label:
            words = sentence.split()
            while " ".join(words) == sentence:
                rng.shuffle(words)
            sentence = " ".join(words)
        texts.append(sentence)
        labels.append(label)
    return texts, np.array(labels, dtype="int32")


TASKS = {"word-order": (word_order_task, "is the sentence's word order the book's, or shuffled?"),
         "next-sentence": (next_sentence_task, "does sentence B follow sentence A?")}


# --- baselines -----------------------------------------------------------------


def masked_token_counts(dataset, batches):
    """Counter of the masked (weight > 0) target ids over `batches` batches."""
    counts = collections.Counter()
    for _, y in dataset.take(batches):
        ids = y["masked_ids"].numpy()[y["masked_weights"].numpy() > 0]
        counts.update(ids.tolist())
    return counts


class PrintMlm(keras.callbacks.Callback):
    def __init__(self, chance, majority):
        super().__init__()
        self.chance, self.majority = chance, majority
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        print(f"  epoch {epoch + 1}: masked-LM accuracy train {logs['masked_lm_accuracy']:.1%}, "
              f"held-out {logs.get('val_masked_lm_accuracy', float('nan')):.1%} "
              f"(chance {self.chance:.2%}, majority token {self.majority:.1%}) | loss "
              f"{logs['loss']:.3f}, next-sentence accuracy {logs['next_sentence_accuracy']:.1%}"
              f" | {time.perf_counter() - self.start:.0f} s", flush=True)


# --- main ----------------------------------------------------------------------

# What --quick changes: a few steps of everything, for a smoke test.
QUICK = dict(steps_per_epoch=5, epochs=1, heldout_passes=1, baseline_batches=5,
             finetune_epochs=1, finetune_examples=64, test_examples=64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps-per-epoch", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--num-words", type=int, default=1500,
                        help="whole words in the vocabulary (plus characters and pieces)")
    parser.add_argument("--learning-rate", type=float, default=1e-3,
                        help="peak pretraining learning rate (a tiny model wants a large one)")
    parser.add_argument("--heldout-passes", type=int, default=4,
                        help="passes over the held-out chapter per evaluation, each with new "
                             "pairs and masks")
    parser.add_argument("--baseline-batches", type=int, default=50,
                        help="training batches whose masked tokens give the majority token")
    parser.add_argument("--task", choices=sorted(TASKS), default="word-order",
                        help="the fine-tuning task (both made from the book)")
    parser.add_argument("--finetune-epochs", type=int, default=3)
    parser.add_argument("--finetune-examples", type=int, default=2048)
    parser.add_argument("--test-examples", type=int, default=512,
                        help="fine-tuning test examples, from the held-out chapter")
    parser.add_argument("--finetune-learning-rate", type=float, default=3e-4)
    parser.add_argument("--output", help="where to save the pretrained preset "
                                         "(default: a temporary folder, deleted at the end)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: " + ", ".join(f"--{k.replace('_', '-')} {v}"
                                                         for k, v in QUICK.items())
                             + " (explicit flags still win)")
    if parser.parse_known_args()[0].quick:
        parser.set_defaults(**QUICK)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kerabert_pretrain_") as workdir:
        run(args, workdir)


def run(args, workdir):
    start = time.perf_counter()
    keras.utils.set_random_seed(args.seed)
    chapters = read_book(BOTCHAN)
    train_chapters, heldout_chapters = chapters[:-1], chapters[-1:]
    train_file = os.path.join(workdir, "train.txt")
    heldout_file = os.path.join(workdir, "heldout.txt")
    write_documents(train_chapters, train_file)
    write_documents(heldout_chapters, heldout_file)
    print(f"corpus: {sum(map(len, train_chapters))} sentences in {len(train_chapters)} "
          f"documents for pretraining, {sum(map(len, heldout_chapters))} held out (last chapter)")

    # --- 1. vocabulary, model, data -----------------------------------------------
    vocabulary = frequency_vocabulary(BOTCHAN, num_words=args.num_words)
    tokenizer = kerabert.BertTokenizer(vocabulary, lowercase=True)
    preprocessor = kerabert.BertPretrainerPreprocessor(
        tokenizer, sequence_length=args.sequence_length, max_predictions_per_seq=20)
    backbone = kerabert.BertBackbone(
        vocabulary_size=len(vocabulary), num_layers=2, num_heads=2, hidden_dim=128,
        intermediate_dim=512, max_sequence_length=args.sequence_length)
    pretrainer = kerabert.BertPretrainer(backbone, preprocessor=preprocessor)
    total_steps = args.steps_per_epoch * args.epochs
    pretrainer.compile(learning_rate=args.learning_rate, warmup_ratio=0.1,
                       num_train_steps=total_steps)
    print(f"vocabulary {len(vocabulary)} tokens; backbone {backbone.count_params() / 1e6:.2f}M "
          f"parameters (2 layers, hidden 128); pretrainer "
          f"{pretrainer.count_params() / 1e6:.2f}M")

    train = bert_pretraining_dataset(train_file, preprocessor, args.batch_size, seed=args.seed)
    # The held-out chapter is small: several passes, each with new pairs and masks.
    heldout = bert_pretraining_dataset(heldout_file, preprocessor, args.batch_size,
                                       seed=args.seed + 1, repeat=False)
    heldout = heldout.repeat(args.heldout_passes)
    heldout_batches = int(sum(1 for _ in heldout))

    # Baselines on the data: the majority token is the most frequent masked
    # target in some training batches; its accuracy is measured on the held-out masks.
    train_counts = masked_token_counts(train, args.baseline_batches)
    majority_id, _ = train_counts.most_common(1)[0]
    heldout_counts = masked_token_counts(heldout, heldout_batches)
    majority = heldout_counts[majority_id] / sum(heldout_counts.values())
    chance = 1.0 / len(vocabulary)
    print(f"baselines on the held-out masks ({sum(heldout_counts.values())} masked tokens in "
          f"{heldout_batches} batches): chance {chance:.2%}, majority token "
          f"{vocabulary[majority_id]!r} {majority:.1%} (train: "
          f"{train_counts[majority_id] / sum(train_counts.values()):.1%})")

    # --- 2. pretraining ---------------------------------------------------------------
    print(f"pretraining: {args.epochs} epochs x {args.steps_per_epoch} steps, batch "
          f"{args.batch_size}, length {args.sequence_length}, peak lr {args.learning_rate}")
    history = pretrainer.fit(train, steps_per_epoch=args.steps_per_epoch, epochs=args.epochs,
                             validation_data=heldout, validation_steps=heldout_batches,
                             verbose=0,
                             callbacks=[PrintMlm(chance, majority)])
    final = history.history["val_masked_lm_accuracy"][-1]
    print(f"held-out masked-LM accuracy {final:.1%} = {final / chance:.0f}x chance, "
          f"{final / majority:.1f}x the majority token")

    folder = args.output or os.path.join(workdir, "tiny_bert_pretrained")
    pretrainer.save_to_preset(folder)
    print(f"saved the pretrainer to {folder}")

    # --- 3. fine-tuning: pretrained vs random backbone --------------------------------
    make_task, question = TASKS[args.task]
    train_x, train_y = make_task(train_chapters, args.finetune_examples, seed=args.seed)
    test_x, test_y = make_task(heldout_chapters, args.test_examples, seed=args.seed + 1)
    print(f"fine-tuning task {args.task!r}: {question} {len(train_y)} training examples "
          f"(pretraining chapters), {len(test_y)} test examples (held-out chapter); majority "
          f"class "
          f"{max(test_y.mean(), 1 - test_y.mean()):.1%}; {args.finetune_epochs} epochs, "
          f"batch 32, peak lr {args.finetune_learning_rate}")
    results = {}
    for name, load_weights in (("pretrained", True), ("random init", False)):
        keras.utils.set_random_seed(args.seed)  # the same head init, dropout and order
        classifier = kerabert.BertClassifier.from_preset(folder, num_classes=2,
                                                         load_weights=load_weights)
        classifier.compile(learning_rate=args.finetune_learning_rate)
        classifier.fit(train_x, train_y, batch_size=32,
                       epochs=args.finetune_epochs, verbose=0)
        logits = classifier.predict(test_x, batch_size=64, verbose=0)
        results[name] = float((logits.argmax(-1) == test_y).mean())
        print(f"  {name:<11} backbone: test accuracy {results[name]:.1%}", flush=True)
    print(f"pretrained - random init: {results['pretrained'] - results['random init']:+.1%} "
          f"| total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
