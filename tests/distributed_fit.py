"""Fits a tiny BertClassifier on one device or under MirroredStrategy over two
logical CPUs and prints the final weights' checksum and losses as JSON.

Run as a subprocess by tests/test_distribution.py: logical devices must be set
before TensorFlow initialises, which a shared pytest process has already done.
"""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from tests.harness import sentiment_data  # noqa: E402
from tests.harness import tiny_bert_classifier  # noqa: E402
from tests.harness import weight_sums  # noqa: E402


def main(mode):
    texts, labels = sentiment_data(4)
    strategy = (tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]) if mode == "mirrored"
                else tf.distribute.get_strategy())
    with strategy.scope():
        classifier = tiny_bert_classifier(learning_rate=5e-3)
    initial = weight_sums(classifier)
    history = classifier.fit(texts, labels, batch_size=4, epochs=4, shuffle=False, verbose=0)
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "loss": history.history["loss"],
        "initial_weights": initial,
        "weights": weight_sums(classifier),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
