"""Raw-text embedding signature of a backbone and its preprocessor.

`serving_default(text)`: (B,) tf.string ->
  `sequence_output` (B, L, H) float32: the last layer's states, one per packed
    position (L = the preprocessor's `sequence_length`);
  `pooled_output` (B, H) float32: one vector per text;
  `padding_mask` (B, L) int32: 1 at real tokens (special tokens included),
    so a client can average `sequence_output` over real tokens
    (sentence-transformers' mean pooling).

`pooled_output` is BERT's pooler (tanh dense on [CLS], what `BertClassifier`
classifies). XLNet has no pooler: it is the last position's state, the
<cls> token the XLNet preprocessor always puts at L - 1 (it pads on the
left), which is what `XLNetClassifier`'s sequence summary reads before its
own projection.
"""

import tensorflow as tf

from kerabert.preprocessors.question_answerer_windows import sanitize_utf8

TEXT = tf.TensorSpec([None], tf.string, name="text")


def embedder_endpoints(backbone, preprocessor):
    """`{name: (fn, input_signature)}` for `backbone` fed by `preprocessor`."""

    def serving_default(text):
        inputs = preprocessor(sanitize_utf8(text))
        outputs = backbone(inputs, training=False)
        sequence = tf.cast(outputs["sequence_output"], tf.float32)
        if "pooled_output" in outputs:
            pooled = tf.cast(outputs["pooled_output"], tf.float32)
        else:
            pooled = sequence[:, -1, :]
        return {"sequence_output": sequence, "pooled_output": pooled,
                "padding_mask": tf.cast(inputs["padding_mask"], tf.int32)}

    return {"serving_default": (serving_default, [TEXT])}
