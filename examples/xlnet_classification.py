"""XLNet with kerabert, end to end and offline: classify, save, reload, answer.

1. Builds a tiny random Hugging Face XLNet folder (transformers `save_pretrained`,
   with the SentencePiece model of the test fixtures), or uses `--preset PATH`,
   a real checkpoint folder (e.g. a downloaded `xlnet-base-cased`).
2. `XLNetClassifier.from_preset(folder, num_classes=2)` on raw strings: fits a
   few epochs, prints accuracy, saves with `save_to_preset`, reloads, predicts.
   Data: a small synthetic sentiment set that a random tiny model can learn
   (default without --preset), or kerabert's bundled demo reviews
   (`--data reviews`, the default with --preset; a tiny random model is near
   chance on their held-out split: it has no pretraining to build on).
3. `XLNetQuestionAnswerer.from_preset(folder)` answers one question.

    python examples/xlnet_classification.py                      # ~1 min on 2 CPU cores
    python examples/xlnet_classification.py --quick              # a smoke run: 4 steps
    python examples/xlnet_classification.py --preset path/to/xlnet-base-cased
"""

import argparse
import os
import random
import tempfile

os.environ.setdefault("USE_TF", "0")  # transformers builds the tiny folder without TF

import numpy as np

import kerabert
from kerabert.data.demo_reviews import LABELS
from kerabert.data.demo_reviews import load_demo_reviews

SPIECE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                      "xlnet_digit_comma_unigram_800.model")

GOOD = ["great", "wonderful", "lovely", "excellent", "delightful", "charming"]
BAD = ["awful", "boring", "terrible", "dreadful", "dull", "clumsy"]
THINGS = ["film", "book", "school", "teacher", "story", "dinner", "journey", "town"]
TEMPLATES = ["The {thing} was {word}.", "I thought the {thing} was {word} and long.",
             "What a {word} {thing}, said the boy.", "Honestly, a {word} {thing} overall."]


def make_tiny_hf_xlnet(folder):
    """A random 2-layer XLNet saved by transformers, as a Hub checkpoint would be."""
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.XLNetConfig(vocab_size=800, d_model=64, n_layer=2, n_head=4,
                                      d_inner=128, mem_len=None)
    transformers.XLNetModel(config).save_pretrained(folder)
    transformers.XLNetTokenizer(SPIECE).save_pretrained(folder)  # writes spiece.model


def synthetic(n, seed):
    rng = random.Random(seed)
    texts, labels = [], []
    for _ in range(n):
        label = rng.randrange(2)
        word = rng.choice(GOOD if label else BAD)
        texts.append(rng.choice(TEMPLATES).format(thing=rng.choice(THINGS), word=word))
        labels.append(label)
    return texts, labels


def accuracy(classifier, texts, labels):
    return float((classifier.predict(texts, verbose=0).argmax(-1) == np.array(labels)).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", help="a Hugging Face XLNet folder or kerabert preset "
                                         "(default: a tiny random one, built here)")
    parser.add_argument("--data", choices=("synthetic", "reviews"),
                        help="default: synthetic without --preset, reviews with it")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 64 training and 32 test texts, 1 epoch")
    parser.add_argument("--output", help="where to save the fine-tuned classifier "
                                         "(default: a temporary folder, deleted at the end)")
    args = parser.parse_args()
    data = args.data or ("reviews" if args.preset else "synthetic")
    with tempfile.TemporaryDirectory(prefix="kerabert_xlnet_") as workdir:
        run(args, data, workdir)


def run(args, data, workdir):
    folder = args.preset
    if folder is None:
        folder = os.path.join(workdir, "tiny-hf-xlnet")
        make_tiny_hf_xlnet(folder)
        print(f"built a tiny random HF XLNet in {folder}")

    # --- 1. classification -----------------------------------------------------
    if data == "reviews":
        (train_x, train_y), (test_x, test_y) = (load_demo_reviews("train"),
                                                load_demo_reviews("heldout"))
    else:
        (train_x, train_y), (test_x, test_y) = synthetic(320, seed=0), synthetic(120, seed=1)
    if args.quick:
        train_x, train_y, test_x, test_y = train_x[:64], train_y[:64], test_x[:32], test_y[:32]
    classifier = kerabert.XLNetClassifier.from_preset(folder, num_classes=2,
                                                      sequence_length=64)
    # The XLNet recipe (Adam, epsilon 1e-8, warmup + linear decay, clipping 1.0).
    # A random tiny model wants a large peak rate; a pretrained one ~2e-5..5e-5.
    classifier.compile(learning_rate=3e-5 if args.preset else 3e-3)
    epochs = args.epochs or (1 if args.quick else 3 if args.preset else 4)
    classifier.fit(train_x, np.array(train_y), batch_size=16, epochs=epochs, verbose=2)
    print(f"{data}: train accuracy {accuracy(classifier, train_x, train_y):.1%}, "
          f"held-out accuracy {accuracy(classifier, test_x, test_y):.1%}")

    # --- 2. save, reload, predict --------------------------------------------------
    output = args.output or os.path.join(workdir, "xlnet_classifier")  # temporary
    classifier.save_to_preset(output)
    reloaded = kerabert.XLNetClassifier.from_preset(output)  # head, tokenizer, length kept
    samples = [test_x[0], test_x[1], "The teacher was wonderful."]
    before = classifier.predict(samples, verbose=0)
    after = reloaded.predict(samples, verbose=0)
    print(f"saved to {output}; reloaded logits match: {np.allclose(before, after, atol=1e-5)}")
    for text, logits in zip(samples, after):
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        print(f"  {LABELS[int(probs.argmax())]:>8} ({probs.max():.2f})  {text}")

    # --- 3. question answering ----------------------------------------------------
    # A new, UNTRAINED span head on the same backbone folder: its answer is an
    # arbitrary span of the context. Fine-tune first (qa.fit(kerabert.squad.load(...)))
    # or load a folder that holds an XLNetForQuestionAnswering head.
    qa = kerabert.XLNetQuestionAnswerer.from_preset(folder, sequence_length=64)
    print("QA (untrained head, arbitrary span):",
          qa.answer(question="Where did the teacher go?",
                    context="The teacher went to Tokyo in 1906, and the boy stayed at school."))


if __name__ == "__main__":
    main()
