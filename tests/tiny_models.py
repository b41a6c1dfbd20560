"""Tiny, deterministic models and data for the test scripts that run in their
own processes (distribution, multi-worker, fault tolerance)."""

import numpy as np

import keras
import kerabert

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "movie", "cat", "dog", "a"]


def sentiment_data(repeats):
    """`repeats` copies of four labelled sentences, in a fixed order."""
    texts = ["good movie", "bad movie", "a good cat", "bad dog"] * repeats
    return texts, np.array([1, 0, 1, 0] * repeats)


def tiny_bert_classifier(learning_rate):
    """A 1-layer, 8-wide BertClassifier with raw-text preprocessing, seeded and
    without dropout (so runs on different devices can be compared exactly).
    Build it inside the strategy scope it should train under."""
    keras.utils.set_random_seed(0)
    backbone = kerabert.BertBackbone(vocabulary_size=len(VOCAB), num_layers=1, num_heads=2,
                                     hidden_dim=8, intermediate_dim=16, dropout=0.0,
                                     attention_dropout=0.0)
    preprocessor = kerabert.BertPreprocessor(kerabert.BertTokenizer(VOCAB), sequence_length=8)
    model = kerabert.BertClassifier(backbone, num_classes=2, preprocessor=preprocessor,
                                    dropout=0.0)
    model.compile(learning_rate=learning_rate)
    return model


def weight_sums(model):
    """One float64 checksum per weight: enough to compare two training runs."""
    return [float(np.sum(w, dtype=np.float64)) for w in model.get_weights()]
