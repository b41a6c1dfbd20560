"""Fits a tiny BertClassifier on one device or under MirroredStrategy over two
logical CPUs and prints the final weights' checksum and losses as JSON.

Run as a subprocess by tests/test_distribution.py: logical devices must be set
before TensorFlow initialises, which a shared pytest process has already done.
"""

import json
import sys

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402

import kerabert  # noqa: E402


def main(mode):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "movie", "cat", "dog"]
    texts = ["good movie", "bad movie", "good cat", "bad dog"] * 4
    labels = np.array([1, 0, 1, 0] * 4)
    strategy = (tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]) if mode == "mirrored"
                else tf.distribute.get_strategy())
    with strategy.scope():
        keras.utils.set_random_seed(0)
        backbone = kerabert.BertBackbone(vocabulary_size=len(vocab), num_layers=1, num_heads=2,
                                         hidden_dim=8, intermediate_dim=16, dropout=0.0,
                                         attention_dropout=0.0)
        preprocessor = kerabert.BertPreprocessor(kerabert.BertTokenizer(vocab), sequence_length=8)
        classifier = kerabert.BertClassifier(backbone, num_classes=2, preprocessor=preprocessor,
                                             dropout=0.0)
        classifier.compile(learning_rate=5e-3)
    initial = [float(np.sum(w)) for w in classifier.get_weights()]
    history = classifier.fit(texts, labels, batch_size=4, epochs=4, shuffle=False, verbose=0)
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "loss": history.history["loss"],
        "initial_weights": initial,
        "weights": [float(np.sum(w)) for w in classifier.get_weights()],
    }))


if __name__ == "__main__":
    main(sys.argv[1])
