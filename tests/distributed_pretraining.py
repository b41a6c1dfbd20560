"""Pretrains tiny BERT and XLNet models on one device or under MirroredStrategy
over two logical CPUs; prints losses and weight checksums as JSON.

Run as a subprocess by tests/test_distribution.py (logical devices must be set
before TensorFlow initialises). The batches are fixed tensors (masks and
permutations drawn once, in numpy), so both runs see identical data.
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

BATCH, STEPS, L, P, V = 4, 3, 12, 3, 40


def bert_data(rng):
    x = {"token_ids": rng.integers(5, V, (BATCH * STEPS, L)).astype("int32"),
         "segment_ids": np.repeat([[0] * (L // 2) + [1] * (L // 2)], BATCH * STEPS, 0).astype("int32"),
         "padding_mask": np.ones((BATCH * STEPS, L), "int32"),
         "masked_positions": np.stack([rng.choice(np.arange(1, L), P, replace=False)
                                       for _ in range(BATCH * STEPS)]).astype("int32")}
    y = {"masked_ids": rng.integers(5, V, (BATCH * STEPS, P)).astype("int32"),
         "masked_weights": np.ones((BATCH * STEPS, P), "float32"),
         "next_sentence_labels": rng.integers(0, 2, BATCH * STEPS).astype("int32")}
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)


def xlnet_data(rng):
    n = BATCH * STEPS
    mapping = np.zeros((n, P, L), "float32")
    for i in range(n):
        mapping[i, np.arange(P), rng.choice(L, P, replace=False)] = 1.0
    x = {"token_ids": rng.integers(5, V, (n, L)).astype("int32"),
         "segment_ids": np.zeros((n, L), "int32"),
         "perm_mask": (rng.random((n, L, L)) < 0.5).astype("float32"),
         "target_mapping": mapping}
    y = {"target": rng.integers(5, V, (n, P)).astype("int32"), "target_mask": np.ones((n, P), "float32")}
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)


def train(strategy, model_name):
    rng = np.random.default_rng(0)
    with strategy.scope():
        keras.utils.set_random_seed(0)
        size = dict(vocabulary_size=V, num_layers=1, num_heads=2, hidden_dim=8,
                    intermediate_dim=16, dropout=0.0, attention_dropout=0.0)
        if model_name == "bert":
            model = kerabert.BertPretrainer(kerabert.BertBackbone(max_sequence_length=L, **size))
            data = bert_data(rng)
        else:
            backbone = kerabert.XLNetBackbone(mem_len=6, **size)
            model = kerabert.XLNetPretrainer(backbone,
                                             batch_size=BATCH // strategy.num_replicas_in_sync)
            data = xlnet_data(rng)
        model.compile(learning_rate=1e-2, num_train_steps=2 * STEPS, warmup_ratio=0.0)
    initial = [float(np.sum(w, dtype=np.float64)) for w in model.get_weights()]
    history = model.fit(data, epochs=2, verbose=0)
    return {"replicas": strategy.num_replicas_in_sync, "loss": history.history["loss"],
            "initial": initial,
            "weights": [float(np.sum(w, dtype=np.float64)) for w in model.get_weights()]}


if __name__ == "__main__":
    strategy = (tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
                if sys.argv[1] == "mirrored" else tf.distribute.get_strategy())
    print(json.dumps({name: train(strategy, name) for name in ("bert", "xlnet")}))
