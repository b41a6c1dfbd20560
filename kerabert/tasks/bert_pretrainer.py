"""BERT pretraining: masked language model + next-sentence prediction."""

import keras
import tensorflow as tf

from kerabert import keras_compat
from kerabert.backbones.bert_backbone import BertBackbone
from kerabert.layers.bert_masked_lm_head import BertMaskedLMHead
from kerabert.losses import weighted_sparse_categorical_crossentropy
from kerabert.preprocessors.bert_pretrainer_preprocessor import BertPretrainerPreprocessor
from kerabert.tasks.task import Task

BACKBONE_INPUTS = ("token_ids", "segment_ids", "padding_mask")


@keras.saving.register_keras_serializable(package="kerabert")
class BertPretrainer(Task):
    """BERT with its two pretraining heads, as the reference `BertPretrainLayer`.

    - masked LM (`BertMaskedLMHead`, layer `mlm_head`): gelu dense + LayerNorm
      on the gathered masked positions, output weights tied to the word
      embeddings, own bias;
    - next sentence (`nsp_logits`, Dense(2) in float32) on the pooled output.

    Loss (the reference `BertPretrainLossAndMetricLayer`):
    `sum(w * -log p_mlm[masked_ids]) / (sum(w) + 1e-5) + mean(-log p_nsp[label])`
    (without `next_sentence_labels` in y, the MLM term alone, as Model Garden's
    `MaskedLMTask`). Each replica's loss is divided by the number of replicas, so
    a step follows the gradient of the global-batch mean (the reference scripts
    disagree here: the original BERT training loop does not divide, Model
    Garden's base `Task` does).
    `compile(loss=...)` is not used.

    Metrics (`keras.metrics` objects, reset every epoch, summed over replicas):
    `loss`; `masked_lm_accuracy`: `sum(w * correct) / sum(w)` pooled over the
    epoch (weight-normalised as Model Garden's `MaskedLMAccuracy`, which averages
    the per-batch ratios instead; the original BERT metric, `mean(w * correct)`,
    is not normalised by the weights, a bug); `lm_example_loss` and `next_sentence_loss`: mean of the
    per-batch MLM and NSP terms (so `loss = lm_example_loss +
    next_sentence_loss`); `next_sentence_accuracy`.

    Args:
      backbone: a `BertBackbone`.
      preprocessor: a `BertPretrainerPreprocessor`, or None to feed packed dicts.
      mlm_activation, mlm_layer_norm_epsilon: the masked-LM transform's
        activation and LayerNorm epsilon; default: the backbone's (the
        reference's head). keras-hub's `BertMaskedLM` uses the exact GELU and
        1e-5, which its presets load with.

    Inputs (dict, int32): `token_ids`, `segment_ids`, `padding_mask` (B, L) and
    `masked_positions` (B, P).
    Outputs (dict, float32): `mlm_log_probs` (B, P, V) and `nsp_log_probs` (B, 2)
    log-probabilities (class 0 = B follows A, 1 = B is random).
    Targets (dict): `masked_ids` (B, P) int, `masked_weights` (B, P) float,
    optional `next_sentence_labels` (B,) int.

    `from_preset` keeps the heads of a Hugging Face `BertForPreTraining` (or
    `BertForMaskedLM`: MLM head only) folder, a TF1 release with `cls/...`
    heads or a saved BertPretrainer; a backbone-only preset gets fresh heads
    (the MLM output weights are the embeddings, so only the transform, the
    output bias and the NSP layer are new). The masking arguments of
    `BertPretrainerPreprocessor` (`mask_rate`, `max_predictions_per_seq`, ...)
    pass through `from_preset` to the preprocessor.

    Example:
    ```python
    pretrainer = kerabert.BertPretrainer.from_preset("path/to/bert", sequence_length=128)
    pretrainer.fit(x=(first_segments, second_segments), y=is_random_next, epochs=1)
    pretrainer.backbone.save_to_preset("my_bert")
    ```
    """

    backbone_cls = BertBackbone
    preprocessor_cls = BertPretrainerPreprocessor
    task_kind = "pretrainer"

    def __init__(self, backbone, preprocessor=None, mlm_activation=None,
                 mlm_layer_norm_epsilon=None, compile=True, **kwargs):
        def init():
            return keras.initializers.TruncatedNormal(stddev=backbone.initializer_range)

        # === Layers ===
        self.mlm_head = BertMaskedLMHead(
            backbone.vocabulary_size, backbone.hidden_dim,
            activation=mlm_activation or backbone.activation,
            layer_norm_epsilon=mlm_layer_norm_epsilon or backbone.layer_norm_epsilon,
            kernel_initializer=init(),
            token_embedding=backbone.token_embedding, dtype=backbone.dtype_policy,
            name="mlm_head")
        # float32 logits, so the log-softmax and the loss are stable under mixed precision.
        self.nsp_dense = keras.layers.Dense(2, kernel_initializer=init(), dtype="float32",
                                            name="nsp_logits")

        # === Functional Model ===
        inputs = dict(backbone.input)
        inputs["masked_positions"] = keras.Input(shape=(None,), dtype="int32",
                                                 name="masked_positions")
        encoded = backbone({k: inputs[k] for k in BACKBONE_INPUTS})
        outputs = {
            "mlm_log_probs": self.mlm_head(encoded["sequence_output"], inputs["masked_positions"]),
            "nsp_log_probs": keras.ops.log_softmax(self.nsp_dense(encoded["pooled_output"]),
                                                   axis=-1),
        }
        super().__init__(backbone, preprocessor, inputs=inputs, outputs=outputs, **kwargs)
        # Tracked as attributes, so `metrics` lists them and `fit` resets them.
        self._metric_trackers = {
            "masked_lm_accuracy": keras.metrics.Mean("masked_lm_accuracy"),
            "lm_example_loss": keras.metrics.Mean("lm_example_loss"),
            "next_sentence_accuracy": keras.metrics.SparseCategoricalAccuracy(
                "next_sentence_accuracy"),
            "next_sentence_loss": keras.metrics.Mean("next_sentence_loss"),
        }

        # === Config ===
        self.mlm_activation = mlm_activation
        self.mlm_layer_norm_epsilon = mlm_layer_norm_epsilon
        if compile:
            self.compile()

    def get_config(self):
        config = super().get_config()
        config.update({"mlm_activation": self.mlm_activation,
                       "mlm_layer_norm_epsilon": self.mlm_layer_norm_epsilon})
        return config

    @classmethod
    def head_config_from(cls, task_config):
        return {k: task_config.get(k) for k in ("mlm_activation", "mlm_layer_norm_epsilon")}

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto", learning_rate=1e-4,
                **kwargs):
        """`Task.compile` with BERT's pretraining peak learning rate, 1e-4."""
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics,
                        learning_rate=learning_rate, **kwargs)

    def _default_loss(self):
        return None  # train_step / test_step compute the reference loss

    # --- training ----------------------------------------------------------------

    def compute_pretraining_loss(self, y, outputs):
        """The reference loss of one batch: `(loss, mlm_loss, nsp_loss or None)`,
        float32 scalars, from targets `y` and the model's `outputs`."""
        mlm_loss = weighted_sparse_categorical_crossentropy(
            y["masked_ids"], outputs["mlm_log_probs"], y["masked_weights"])
        nsp_loss = None
        loss = mlm_loss
        if "next_sentence_labels" in y:
            labels = tf.reshape(y["next_sentence_labels"], [-1])
            nsp_loss = weighted_sparse_categorical_crossentropy(labels, outputs["nsp_log_probs"])
            loss = loss + nsp_loss
        return loss, mlm_loss, nsp_loss

    def _step_loss(self, x, y, training):
        outputs = self({k: x[k] for k in (*BACKBONE_INPUTS, "masked_positions")},
                       training=training)
        loss, mlm_loss, nsp_loss = self.compute_pretraining_loss(y, outputs)
        if self.losses:
            loss = loss + tf.add_n([tf.cast(v, loss.dtype) for v in self.losses])
        return loss, (mlm_loss, nsp_loss, outputs)

    def train_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        loss, terms = self._minimize(lambda: self._step_loss(x, y, training=True))
        return self._track(loss, y, *terms)

    def test_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        loss, terms = self._step_loss(x, y, training=False)
        return self._track(loss, y, *terms)

    def _track(self, loss, y, mlm_loss, nsp_loss, outputs):
        trackers = self._metric_trackers
        keras_compat.loss_tracker(self).update_state(loss)
        trackers["lm_example_loss"].update_state(mlm_loss)
        predicted = tf.argmax(outputs["mlm_log_probs"], axis=-1, output_type=tf.int32)
        correct = tf.cast(predicted == tf.cast(y["masked_ids"], tf.int32), tf.float32)
        trackers["masked_lm_accuracy"].update_state(
            tf.reshape(correct, [-1]),
            sample_weight=tf.reshape(tf.cast(y["masked_weights"], tf.float32), [-1]))
        if nsp_loss is not None:
            trackers["next_sentence_loss"].update_state(nsp_loss)
            trackers["next_sentence_accuracy"].update_state(
                tf.reshape(y["next_sentence_labels"], [-1]), outputs["nsp_log_probs"])
        return self._replica_logs({"loss": keras_compat.loss_tracker(self).result(),
                                   **{name: m.result() for name, m in trackers.items()}})
