"""Raw-text signatures of the sequence classifiers (BERT, XLNet).

`serving_default(text)` and `serving_pairs(text, text_pair)` take (B,)
tf.string and return float32 `logits` and `probabilities`, (B, C). Texts are
tokenized, truncated and packed by the task's own preprocessor, in the graph,
exactly as `task.predict` does (empty strings are valid input: the packed
special tokens only). The padding columns that no text of the request needs
are then dropped before the model runs: padding is masked, so the outputs do
not change (beyond float rounding, ~1e-8 here), and a request of short texts
costs what its longest text costs instead of `sequence_length` positions.
"""

import keras
import tensorflow as tf

from kerabert.preprocessors.question_answerer_windows import sanitize_utf8
from kerabert.preprocessors.xlnet_preprocessor import XLNetPreprocessor

TEXT = tf.TensorSpec([None], tf.string, name="text")
TEXT_PAIR = tf.TensorSpec([None], tf.string, name="text_pair")


def _scorer(task):
    """`packed inputs -> {"logits", "probabilities"}` for `task`'s head.

    With `activation=None` (the default) the task outputs logits and the
    probabilities are their softmax. With `activation="softmax"` the task
    outputs the probabilities (returned as they are, so they equal
    `task.predict`) and the logits are the classification layer's
    pre-activation values (`features @ kernel + bias`), read from the same
    forward pass: `softmax(logits)` is then the probabilities.
    """
    dense = task.output_dense
    # The activation the classification layer applies, whatever the task
    # calls its setting: "linear" for logits.
    activation = keras.activations.serialize(dense.activation)
    if activation == "linear":
        def score(inputs):
            logits = tf.cast(task(inputs, training=False), tf.float32)
            return {"logits": logits, "probabilities": tf.nn.softmax(logits, axis=-1)}

        return score
    if activation != "softmax":
        raise ValueError(
            f"Cannot export a {type(task).__name__} with activation={activation!r}: the "
            "signature returns logits and softmax probabilities. Build the classifier "
            "with activation=None (logits) or activation='softmax'.")
    both = keras.Model(task.inputs, [dense.input, task.output])

    def score(inputs):
        features, probabilities = both(inputs, training=False)
        features = tf.cast(features, dense.kernel.dtype)
        logits = tf.matmul(features, dense.kernel) + dense.bias
        return {"logits": tf.cast(logits, tf.float32),
                "probabilities": tf.cast(probabilities, tf.float32)}

    return score


def trim_padding(inputs, left_padded):
    """Packed (B, L) inputs without the padding columns no row uses: the
    first (left padding, XLNet) or last (right padding, BERT) columns beyond
    the longest row. At least one column is kept (an empty batch)."""
    longest = tf.reduce_max(tf.concat(
        [tf.reduce_sum(tf.cast(inputs["padding_mask"], tf.int32), axis=1), [1]], 0))
    if left_padded:
        return {k: v[:, -longest:] for k, v in inputs.items()}
    return {k: v[:, :longest] for k, v in inputs.items()}


def classifier_endpoints(task, preprocessor):
    """`{name: (fn, input_signature)}` for a classifier with a preprocessor.

    Args:
      task: a `kerabert` classifier (`BertClassifier`, `XLNetClassifier`).
      preprocessor: the task's preprocessor.
    """
    score = _scorer(task)
    left_padded = isinstance(preprocessor, XLNetPreprocessor)

    def serving_default(text):
        return score(trim_padding(preprocessor(sanitize_utf8(text)), left_padded))

    def serving_pairs(text, text_pair):
        inputs = preprocessor((sanitize_utf8(text), sanitize_utf8(text_pair)))
        return score(trim_padding(inputs, left_padded))

    return {"serving_default": (serving_default, [TEXT]),
            "serving_pairs": (serving_pairs, [TEXT, TEXT_PAIR])}
