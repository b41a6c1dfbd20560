"""Trains a tiny model with kerabert's BackupAndRestore; the test kills it.

Run as `python -m tests.fault_tolerant_fit BACKUP_DIR [SECONDS_PER_BATCH]` by
tests/test_fault_tolerance.py. Prints one JSON line: final weight checksums,
the optimizer's step counter and the epochs this process ran.
"""

import json
import sys
import time

import keras
from kerabert.callbacks import BackupAndRestore
from tests.tiny_models import sentiment_data
from tests.tiny_models import tiny_bert_classifier
from tests.tiny_models import weight_sums

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
    model = tiny_bert_classifier(learning_rate=5e-3)
    texts, labels = sentiment_data(BATCHES)
    pace = Pace(seconds)
    model.fit(texts, labels, batch_size=4, epochs=EPOCHS, shuffle=False, verbose=0,
              callbacks=[BackupAndRestore(backup_dir), pace])
    print(json.dumps({
        "weights": weight_sums(model),
        "iterations": int(model.optimizer.iterations.numpy()),
        "epochs_run": pace.epochs,
    }))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)
