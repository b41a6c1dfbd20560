"""XLNet sentence / sentence-pair classification."""

import keras

from kerabert.backbones.xlnet_backbone import XLNetBackbone
from kerabert.preprocessors.xlnet_preprocessor import XLNetPreprocessor
from kerabert.tasks.classifier import Classifier
from kerabert.tasks.classifier import check_head
from kerabert.tasks.classifier import check_label_names

SUMMARY_TYPES = ("last", "first")

# The XLNet fine-tuning scripts' optimizer (`optimization.py`): Adam with epsilon
# 1e-8 and no weight decay; when decay is asked for, the relative-attention
# biases are decayed although their names contain "bias" (the scripts'
# `include_in_weight_decay`), so only a trailing "bias" that is not r_w/r_r/r_s
# is excluded.
XLNET_RECIPE = {
    "weight_decay": 0.0,
    "epsilon": 1e-8,
    "exclude_from_weight_decay": ("LayerNorm", "layer_norm", r"(?<!r_[wrs]_)bias$"),
}


@keras.saving.register_keras_serializable(package="kerabert")
class XLNetClassifier(Classifier):
    """Sequence summary (tanh projection of the `<cls>` state), dropout, logits.

    XLNet packs `A <sep> B <sep> <cls>` with `<cls>` last and pads on the left,
    so the summary reads the last position (`summary_type="last"`, the
    reference's only mode; "first" is accepted for HF checkpoints that use it).

    Args:
      backbone: an `XLNetBackbone`.
      num_classes: int; 1 makes a regressor (mean squared error, RMSE), as
        the XLNet scripts' STS-B head.
      preprocessor: an `XLNetPreprocessor`, or None to feed packed dicts.
      summary_type: "last" (reference) or "first".
      dropout: float, after the summary (HF `summary_last_dropout`, 0.1).
      activation: None (logits) or "softmax".
      compile: compile with the default recipe (`compile()`).
      label_names: list of str, one name per class in class-id order (sets
        `num_classes` when that is left out): `fit` / `evaluate` then take
        the names as labels, and `predict_labels` returns them.

    Inputs: raw strings / string pairs with a preprocessor, otherwise the dict
    `token_ids`, `segment_ids`, `padding_mask` (B, L) int32 (1 = real token).
    Outputs: (B, num_classes) float32 logits.

    `compile()` defaults to the XLNet scripts' recipe: Adam (epsilon 1e-8, no
    weight decay, global-norm clipping 1.0), linear warmup then linear decay
    from the end of warmup, and optional `layer_decay_rate`.
    """

    backbone_cls = XLNetBackbone
    preprocessor_cls = XLNetPreprocessor
    head_options = {"summary_type": "last"}
    recipe = XLNET_RECIPE
    # The query stream's input embedding is only used by pretraining.
    unused_weights = ("mask_embedding",)

    def __init__(self, backbone, num_classes=None, preprocessor=None, summary_type="last",
                 dropout=0.1, activation=None, compile=True, label_names=None, **kwargs):
        num_classes, label_names = check_label_names(label_names, num_classes)
        check_head(num_classes, activation)
        if summary_type not in SUMMARY_TYPES:
            raise ValueError(f"summary_type must be one of {SUMMARY_TYPES}, got {summary_type!r}.")

        def init():
            return keras.initializers.RandomNormal(stddev=backbone.initializer_range)

        # === Layers ===
        self.sequence_summary = keras.layers.Dense(
            backbone.hidden_dim, activation="tanh", kernel_initializer=init(),
            dtype=backbone.dtype_policy, name="sequence_summary")
        self.summary_dropout = keras.layers.Dropout(
            dropout, dtype=backbone.dtype_policy, name="summary_dropout")
        self.output_dense = keras.layers.Dense(
            num_classes, activation=activation, kernel_initializer=init(), dtype="float32",
            name="logits")

        # === Functional Model ===
        inputs = backbone.input
        sequence = backbone(inputs)["sequence_output"]
        summary = sequence[:, -1, :] if summary_type == "last" else sequence[:, 0, :]
        outputs = self.output_dense(self.summary_dropout(self.sequence_summary(summary)))
        super().__init__(backbone, preprocessor, inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes = num_classes
        self.label_names = label_names
        self.summary_type = summary_type
        self.dropout = dropout
        self.activation = activation
        if compile:
            self.compile()

    def get_config(self):
        config = super().get_config()
        config.update({"summary_type": self.summary_type})
        return config
