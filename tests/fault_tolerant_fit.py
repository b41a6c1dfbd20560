"""Trains a tiny model with kerabert's BackupAndRestore; the test kills it.

Run as `python -m tests.fault_tolerant_fit MODEL BACKUP_DIR [SECONDS_PER_BATCH
[SAVE_FREQ]]` by tests/test_fault_tolerance.py, MODEL being "classifier"
(BertClassifier on raw text, AdamWeightDecay, no dropout), "classifier-dropout"
(the same with dropout 0.1) or "pretrainer" (BertPretrainer on raw sentence
pairs masked dynamically, dropout 0.1, LAMB with a warmup schedule), SAVE_FREQ "epoch"
(default) or a number of optimizer steps between backups. Prints one JSON
line: final weight checksums, the optimizer's step counter, the epochs this
process ran and the `[epoch, batch]` of every batch it trained on (not those
it skipped while resuming).
"""

import json
import sys
import time

import numpy as np

import keras
import kerabert
from kerabert.callbacks import BackupAndRestore
from tests.harness import pretraining_pairs
from tests.harness import sentiment_data
from tests.harness import tiny_bert_classifier
from tests.harness import tiny_masking_pretrainer
from tests.harness import weight_sums

EPOCHS, BATCHES, BATCH_SIZE = 6, 4, 4


class Pace(keras.callbacks.Callback):
    """Slows training down so that the test can kill it mid-run, and records
    the epochs run and the batches trained on (those that moved the
    optimizer's step)."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.epochs = []
        self.trained = []

    def on_train_begin(self, logs=None):
        self._step = int(self.model.optimizer.iterations.numpy())

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        if step != self._step:
            self.trained.append([self._epoch, batch])
        self._step = step
        time.sleep(self.seconds)


def classifier_and_data(dropout=0.0):
    texts, labels = sentiment_data(BATCHES)
    # A fixed order in which consecutive batches differ, so that training on
    # a batch other than the uninterrupted run's would show in the weights.
    order = np.random.default_rng(0).permutation(len(texts))
    return (tiny_bert_classifier(learning_rate=5e-3, dropout=dropout),
            [texts[i] for i in order], labels[order])


def pretrainer_and_data():
    """A 1-layer BertPretrainer with dropout whose preprocessor masks raw
    sentence pairs anew every epoch: a resumed run must restore both."""
    schedule = kerabert.WarmupPolynomialDecay(5e-3, total_steps=EPOCHS * BATCHES, warmup_steps=3)
    model = tiny_masking_pretrainer(dropout=0.1, optimizer=kerabert.Lamb(learning_rate=schedule))
    x, y = pretraining_pairs(BATCHES)
    return model, x, y


def main(kind, backup_dir, seconds=0.0, save_freq="epoch"):
    model, x, y = {"classifier": classifier_and_data,
                   "classifier-dropout": lambda: classifier_and_data(dropout=0.1),
                   "pretrainer": pretrainer_and_data}[kind]()
    pace = Pace(seconds)
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=False, verbose=0,
              callbacks=[BackupAndRestore(backup_dir, save_freq=save_freq), pace])
    print(json.dumps({
        "weights": weight_sums(model),
        "iterations": int(model.optimizer.iterations.numpy()),
        "epochs_run": pace.epochs,
        "trained": pace.trained,
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.0,
         "epoch" if len(sys.argv) <= 4 or sys.argv[4] == "epoch" else int(sys.argv[4]))
