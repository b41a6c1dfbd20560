"""XLNet pretraining: the permutation language model (Yang et al., 2019)."""

import keras
import tensorflow as tf

from kerabert import keras_compat
from kerabert.backbones.xlnet_backbone import XLNetBackbone
from kerabert.tasks.preprocessing_seed import _SetPreprocessingEpoch
from kerabert.tasks.task import TaskMixin


class _OutputBias(keras.layers.Layer):
    """The LM head's own parameter: a bias over the vocabulary (the weights are
    the tied word embeddings). A named layer, so the variable's path is
    `lm_loss/bias` whatever the model is called."""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.bias = self.add_weight(shape=(size,), initializer="zeros", name="bias")


@keras.saving.register_keras_serializable(package="kerabert")
class XLNetPretrainer(TaskMixin, keras.Model):
    """Two-stream XLNet with an LM head tied to the word embeddings.

    Each example predicts `P` positions (`target_mapping`) in a factorisation
    order given by `perm_mask`; the query stream of each predicted position
    sees its position but not its token (the reference's permutation language
    model, `data_utils._local_perm` and the `lm_loss` layer).

    logits = query_output @ token_embedding^T + bias (the reference `lm_loss`
    layer with `tie_weight=True`); loss = sum(ce * target_mask) / sum(target_mask).

    Memory: with the backbone's `mem_len` set, `batch_size` (per replica) must be
    given; the last `mem_len` hidden states of every layer are kept in
    per-replica, non-trainable variables and fed to the next step, as the
    reference's training loop threads `mems` (which it resets every host loop;
    kerabert resets them at the start of every `fit` and with
    `reset_memory()`). Because consecutive batches must continue the same text
    streams for this to mean anything, do not shuffle the pretraining data.

    Args:
      backbone: an `XLNetBackbone` (its `mem_len` / `reuse_len` / `bi_data`
        configure pretraining).
      batch_size: per-replica batch size, needed when `mem_len` is set.

    Inputs (dict): `token_ids` (B, L) int32 (`input_k`), `segment_ids` (B, L),
    `perm_mask` (B, L, L) float32 (1 = i may not see j), `target_mapping`
    (B, P, L) float32 one-hot rows; optional `padding_mask` (B, L).
    Targets (dict): `target` (B, P) int32, `target_mask` (B, P) float32.
    Output: `lm_log_probs` (B, P, V) float32.
    """

    backbone_cls = XLNetBackbone
    task_kind = "pretrainer"

    def __init__(self, backbone, preprocessor=None, batch_size=None, compile=True, **kwargs):
        super().__init__(**kwargs)
        if backbone.mem_len and not batch_size:
            raise ValueError(
                f"The backbone keeps memory (mem_len={backbone.mem_len}); pass the "
                "per-replica batch_size so the memory can live in variables.")
        # === Layers ===
        self._set_backbone(backbone, preprocessor)
        self.lm_loss = _OutputBias(backbone.vocabulary_size, name="lm_loss")
        self.lm_bias = self.lm_loss.bias
        # Per-replica state, not weights: on-read synchronisation lets every
        # replica keep the memory of its own text streams (a Keras weight
        # would be mirrored; a read outside a replica sees the first
        # replica's). Not saved in presets; `BackupAndRestore` saves them
        # (`backup_state_variables`), so a resumed run continues with the
        # memory of the backed-up step.
        self._memory = tuple(
            tf.Variable(tf.zeros((batch_size, backbone.mem_len, backbone.hidden_dim)),
                        trainable=False, synchronization=tf.VariableSynchronization.ON_READ,
                        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
                        name=f"xlnet_memory_{i}")
            for i in range(backbone.num_layers if backbone.mem_len else 0))
        self._metric_trackers = {
            "lm_loss": keras.metrics.Mean("lm_loss"),
            "lm_accuracy": keras.metrics.Mean("lm_accuracy"),
        }

        # === Config ===
        self.batch_size = batch_size
        if compile:
            self.compile()

    # --- forward ---------------------------------------------------------------

    def _forward(self, inputs, training, use_memory):
        memory = list(self._memory) if use_memory and self._memory else None
        out = self.backbone.call_with_memory(
            {k: inputs[k] for k in ("token_ids", "segment_ids", "padding_mask") if k in inputs},
            memory=memory, perm_mask=inputs["perm_mask"],
            target_mapping=inputs["target_mapping"], training=training)
        embeddings = self.backbone.token_embedding.embeddings
        query = tf.cast(out["query_output"], tf.float32)
        logits = tf.einsum("bph,vh->bpv", query, tf.cast(embeddings, tf.float32)) + self.lm_bias
        return tf.nn.log_softmax(logits, axis=-1), out.get("memory")

    def build(self, input_shape=None):
        # Every variable exists from the constructor on (the backbone is built).
        self.built = True

    def call(self, inputs, training=False):
        log_probs, _ = self._forward(inputs, training, use_memory=False)
        return {"lm_log_probs": log_probs}

    @property
    def backup_state_variables(self):
        """Variables that are not weights but that `BackupAndRestore` saves
        and restores with them: the Transformer-XL memory."""
        return list(self._memory)

    def reset_memory(self):
        for variable in self._memory:
            variable.assign(tf.zeros(variable.shape, variable.dtype), read_value=False)

    @classmethod
    def head_config_from(cls, task_config):
        return {"batch_size": task_config.get("batch_size")}

    @property
    def head_weights(self):
        return [self.lm_bias]

    # --- training ----------------------------------------------------------------

    def _default_loss(self):
        return None  # the train_step computes the reference loss

    def _loss(self, x, y, training):
        log_probs, new_memory = self._forward(x, training, use_memory=True)
        target = tf.cast(y["target"], tf.int32)
        mask = tf.cast(y["target_mask"], tf.float32)
        ce = -tf.gather(log_probs, target, axis=-1, batch_dims=2)
        # The reference divides by sum(target_mask) with no epsilon; a batch
        # with no target would be 0/0, so it is guarded here.
        loss = tf.reduce_sum(ce * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
        correct = tf.cast(tf.argmax(log_probs, -1, output_type=tf.int32) == target, tf.float32)
        accuracy = tf.reduce_sum(correct * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)
        return loss, accuracy, new_memory

    def _update_memory(self, new_memory):
        if new_memory is not None and self._memory:
            for variable, value in zip(self._memory, new_memory):
                variable.assign(tf.cast(value, variable.dtype), read_value=False)

    def train_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        loss, accuracy, new_memory = self._minimize(lambda: self._loss(x, y, training=True))
        self._update_memory(new_memory)
        return self._track(loss, accuracy)

    def test_step(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        loss, accuracy, new_memory = self._loss(x, y, training=False)
        self._update_memory(new_memory)
        return self._track(loss, accuracy)

    def _track(self, loss, accuracy):
        keras_compat.loss_tracker(self).update_state(loss)
        self._metric_trackers["lm_loss"].update_state(loss)
        self._metric_trackers["lm_accuracy"].update_state(accuracy)
        return self._replica_logs({"loss": keras_compat.loss_tracker(self).result(),
                                   **{k: m.result() for k, m in self._metric_trackers.items()}})

    def fit(self, x=None, *args, **kwargs):
        """Keras' `fit`, with the memory reset first. On a dataset of
        `kerabert.data.xlnet_pretraining` (which carries its
        `permutation_seed`), each epoch's factorisation orders are drawn
        from that seed and the epoch (set here when each epoch begins; with
        `steps_per_epoch`, once, to the fit's first epoch, as the stream
        runs on across epochs), and the seed is the task's preprocessing
        seed, which `BackupAndRestore` saves."""
        self.reset_memory()
        seed = getattr(x, "permutation_seed", None)
        if seed is not None:
            # `TaskMixin.fit`'s positional order: y, batch_size, epochs,
            # validation_data, sample_weight, shuffle, steps_per_epoch.
            steps = args[6] if len(args) > 6 else kwargs.get("steps_per_epoch")
            _add_epoch_setter(self, seed, kwargs, every_epoch=steps is None)
        return super().fit(x, *args, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({"batch_size": self.batch_size})
        return config


def _add_epoch_setter(task, seed, fit_kwargs, every_epoch):
    """Makes `seed` the task's preprocessing seed and adds the callback that
    sets its epoch to the `fit` keyword arguments."""
    task._preprocessing_seed = seed
    setter = _SetPreprocessingEpoch(seed, every_epoch=every_epoch)
    callbacks = fit_kwargs.get("callbacks")
    if isinstance(callbacks, keras.callbacks.CallbackList):
        fit_kwargs["callbacks"] = keras.callbacks.CallbackList(
            list(callbacks.callbacks) + [setter], model=task)
    else:
        fit_kwargs["callbacks"] = list(callbacks or []) + [setter]
