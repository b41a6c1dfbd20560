"""One worker of a two-worker `MultiWorkerMirroredStrategy` job (or a single
process with `single`): fits a tiny BertClassifier and prints its losses.

Run by tests/test_multi_worker.py, which sets TF_CONFIG and starts both workers.
"""

import json
import sys

import numpy as np
import tensorflow as tf

import keras
import kerabert

GLOBAL_BATCH = 8


def main(mode):
    strategy = (tf.distribute.MultiWorkerMirroredStrategy() if mode == "worker"
                else tf.distribute.get_strategy())
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "movie", "cat", "dog", "a"]
    texts = ["good movie", "bad movie", "a good cat", "bad dog"] * 4
    labels = np.array([1, 0, 1, 0] * 4)
    with strategy.scope():
        keras.utils.set_random_seed(0)
        backbone = kerabert.BertBackbone(vocabulary_size=len(vocab), num_layers=1, num_heads=2,
                                         hidden_dim=8, intermediate_dim=16, dropout=0.0,
                                         attention_dropout=0.0)
        preprocessor = kerabert.BertPreprocessor(kerabert.BertTokenizer(vocab), sequence_length=8)
        model = kerabert.BertClassifier(backbone, num_classes=2, preprocessor=preprocessor,
                                        dropout=0.0)
        model.compile(learning_rate=1e-2)
    initial = [float(np.sum(w, dtype=np.float64)) for w in model.get_weights()]
    dataset = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(GLOBAL_BATCH)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    history = model.fit(dataset.with_options(options), epochs=3, verbose=0)
    print(json.dumps({"replicas": strategy.num_replicas_in_sync,
                      "loss": history.history["loss"], "initial": initial,
                      "weights": [float(np.sum(w, dtype=np.float64)) for w in model.get_weights()]}))


if __name__ == "__main__":
    main(sys.argv[1])
