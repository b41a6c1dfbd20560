"""BERT sentence / sentence-pair classification."""

import keras

from kerabert.backbones.bert_backbone import BertBackbone
from kerabert.preprocessors.bert_preprocessor import BertPreprocessor
from kerabert.tasks.classifier import Classifier
from kerabert.tasks.classifier import check_head
from kerabert.tasks.classifier import check_label_names


@keras.saving.register_keras_serializable(package="kerabert")
class BertClassifier(Classifier):
    """Dropout and a dense layer on BERT's pooled `[CLS]` output.

    Args:
      backbone: a `BertBackbone`.
      num_classes: int, number of classes; 1 makes a regressor (one float
        score per example, mean squared error loss, RMSE metric), as STS-B.
      preprocessor: a `BertPreprocessor`, or None to feed packed dicts.
      dropout: float, dropout before the classification layer (reference: the
        backbone's hidden dropout, 0.1).
      activation: None (logits, the default) or "softmax".
      compile: compile with the default recipe (`compile()`), as keras-hub does.
      label_names: list of str, one name per class in class-id order (sets
        `num_classes` when that is left out): `fit` / `evaluate` then take
        the names as labels, and `predict_labels` returns them.

    Inputs: raw strings / string pairs with a preprocessor, otherwise the dict
    `token_ids`, `segment_ids`, `padding_mask` (B, L) int32.
    Outputs: (B, num_classes) float32 logits (probabilities with "softmax";
    scores for a regressor).

    Example:
    ```python
    clf = kerabert.BertClassifier.from_preset("path/to/bert", num_classes=2)
    clf.fit(x=(sentences_a, sentences_b), y=labels, epochs=3)
    clf.predict(["a sentence"])
    ```
    """

    backbone_cls = BertBackbone
    preprocessor_cls = BertPreprocessor

    def __init__(self, backbone, num_classes=None, preprocessor=None, dropout=0.1,
                 activation=None, compile=True, label_names=None, **kwargs):
        num_classes, label_names = check_label_names(label_names, num_classes)
        check_head(num_classes, activation)
        # === Layers ===
        self.output_dropout = keras.layers.Dropout(
            dropout, dtype=backbone.dtype_policy, name="classifier_dropout")
        # The logits layer computes in float32 under mixed precision, so the loss
        # and softmax are stable (the reference's float32 output island).
        self.output_dense = keras.layers.Dense(
            num_classes, activation=activation,
            kernel_initializer=keras.initializers.TruncatedNormal(
                stddev=backbone.initializer_range),
            dtype="float32", name="logits")

        # === Functional Model ===
        inputs = backbone.input
        pooled = backbone(inputs)["pooled_output"]
        outputs = self.output_dense(self.output_dropout(pooled))
        super().__init__(backbone, preprocessor, inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.label_names = label_names
        self.dropout = dropout
        self.activation = activation
        if compile:
            self.compile()
