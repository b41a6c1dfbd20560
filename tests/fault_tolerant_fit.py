"""Trains a tiny model with kerabert's BackupAndRestore; the test kills it.

Run as `python -m tests.fault_tolerant_fit BACKUP_DIR [SECONDS_PER_BATCH]` by
tests/test_fault_tolerance.py. Prints one JSON line: final weight checksums,
the optimizer's step counter and the epochs this process ran.
"""

import json
import sys
import time

import numpy as np

import keras
import kerabert
from kerabert.callbacks import BackupAndRestore

EPOCHS, BATCHES = 6, 4


class Pace(keras.callbacks.Callback):
    """Slows training down so that the test can kill it mid-run."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)

    def on_train_batch_end(self, batch, logs=None):
        time.sleep(self.seconds)


def main(backup_dir, seconds=0.0):
    keras.utils.set_random_seed(0)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "movie", "cat", "dog", "a"]
    backbone = kerabert.BertBackbone(vocabulary_size=len(vocab), num_layers=1, num_heads=2,
                                     hidden_dim=8, intermediate_dim=16, dropout=0.0,
                                     attention_dropout=0.0)
    preprocessor = kerabert.BertPreprocessor(kerabert.BertTokenizer(vocab), sequence_length=8)
    model = kerabert.BertClassifier(backbone, num_classes=2, preprocessor=preprocessor,
                                    dropout=0.0)
    model.compile(learning_rate=5e-3)
    texts = ["good movie", "bad movie", "a good cat", "bad dog"] * BATCHES
    labels = np.array([1, 0, 1, 0] * BATCHES)
    pace = Pace(seconds)
    model.fit(texts, labels, batch_size=4, epochs=EPOCHS, shuffle=False, verbose=0,
              callbacks=[BackupAndRestore(backup_dir), pace])
    print(json.dumps({
        "weights": [float(np.sum(w, dtype=np.float64)) for w in model.get_weights()],
        "iterations": int(model.optimizer.iterations.numpy()),
        "epochs_run": pace.epochs,
    }))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)
