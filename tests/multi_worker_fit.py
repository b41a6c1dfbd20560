"""One worker of a two-worker `MultiWorkerMirroredStrategy` job (or a single
process with `single`): fits a tiny BertClassifier (Keras' own train step) and a
tiny BertPretrainer (kerabert's) and prints their losses.

Run by tests/test_multi_worker.py, which sets TF_CONFIG and starts both workers.
"""

import json
import sys

import numpy as np
import tensorflow as tf

import keras
import kerabert
from tests.harness import sentiment_data
from tests.harness import tiny_bert_classifier
from tests.harness import weight_sums

GLOBAL_BATCH = 8


def classifier_run(strategy):
    texts, labels = sentiment_data(4)
    with strategy.scope():
        model = tiny_bert_classifier(learning_rate=1e-2)
    initial = weight_sums(model)
    history = model.fit(_sharded(tf.data.Dataset.from_tensor_slices((texts, labels))), epochs=3,
                        verbose=0)
    return _summary(strategy, model, history, initial)


def _sharded(dataset):
    """Global batches that each worker splits by element (half a batch each)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.batch(GLOBAL_BATCH).with_options(options)


def pretrainer_run(strategy):
    rng = np.random.default_rng(0)
    n, length, predictions, vocabulary = 16, 12, 3, 40
    x = {"token_ids": rng.integers(5, vocabulary, (n, length)).astype("int32"),
         "segment_ids": np.zeros((n, length), "int32"),
         "padding_mask": np.ones((n, length), "int32"),
         "masked_positions": rng.integers(1, length, (n, predictions)).astype("int32")}
    y = {"masked_ids": rng.integers(5, vocabulary, (n, predictions)).astype("int32"),
         "masked_weights": np.ones((n, predictions), "float32"),
         "next_sentence_labels": rng.integers(0, 2, n).astype("int32")}
    with strategy.scope():
        keras.utils.set_random_seed(0)
        backbone = kerabert.BertBackbone(vocabulary_size=vocabulary, num_layers=1, num_heads=2,
                                         hidden_dim=8, intermediate_dim=16, dropout=0.0,
                                         attention_dropout=0.0, max_sequence_length=length)
        model = kerabert.BertPretrainer(backbone)
        model.compile(learning_rate=1e-2, num_train_steps=6, warmup_ratio=0.0)
    initial = weight_sums(model)
    history = model.fit(_sharded(tf.data.Dataset.from_tensor_slices((x, y))), epochs=3, verbose=0)
    return _summary(strategy, model, history, initial)


def _summary(strategy, model, history, initial):
    return {"replicas": strategy.num_replicas_in_sync, "loss": history.history["loss"],
            "initial": initial, "weights": weight_sums(model)}


def main(mode):
    strategy = (tf.distribute.MultiWorkerMirroredStrategy() if mode == "worker"
                else tf.distribute.get_strategy())
    print(json.dumps({"classifier": classifier_run(strategy),
                      "pretrainer": pretrainer_run(strategy)}))


if __name__ == "__main__":
    main(sys.argv[1])
