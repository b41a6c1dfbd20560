"""AdamW as the BERT reference fine-tunes with it (Model Garden's `AdamWeightDecay`)."""

import re

import keras
import tensorflow as tf

from kerabert.optimizers.replica_safe_clipping import ClipAfterAllReduce


@keras.saving.register_keras_serializable(package="kerabert")
class AdamWeightDecay(ClipAfterAllReduce, keras.optimizers.AdamW):
    """Keras AdamW whose weight-decay exclusions match variable *paths*.

    The reference decays every variable except LayerNorm parameters and biases,
    matched by regex on TF1 variable names. In Keras 3 `variable.name` is only
    "gamma" or "kernel", so the patterns are matched on `variable.path`
    (e.g. "transformer_layer_0/output_layer_norm/gamma").

    Decay is decoupled and scaled by the current learning rate, applied before the
    Adam step: `var -= lr * weight_decay * var` (the reference formula).

    Layer-wise learning-rate decay (XLNet's `lr_layer_decay_rate`, in Model Garden's
    `training_utils.py`): the update of a variable in layer l of n is scaled by
    `layer_decay_rate ** (n - 1 - l)`. The reference multiplies the *gradients*
    instead, after clipping; Adam's step m / sqrt(v) does not change when a
    gradient is scaled by a constant, so there that only moves epsilon's weight
    and the lower layers train at nearly the full rate. Scaling the step itself
    is what the name promises, so kerabert does that.

    Global-norm clipping applies to the gradient summed over replicas (see
    `ClipAfterAllReduce`), as the reference clips the global gradient.

    On TensorFlow each variable's update is one fused `ResourceApplyAdam` op
    (Keras' Adam arithmetic, bias correction included), and the learning
    rate, its bias correction and the decay factor are computed once per step
    rather than once per variable. Keras builds about 50 ops per variable for
    the same step; for BERT-base that was two thirds of the train step's graph
    (10,453 of 16,386 ops), which every `fit` traces and optimizes before its
    first step, and ten passes over the weights' memory per step.

    Args:
      exclude_from_weight_decay: regex patterns searched in variable paths.
      layer_decay_rate: float, 1.0 = off.
      num_layers: int, needed when `layer_decay_rate != 1`.
      layer_pattern: regex whose group 1 is the layer index in a variable path.
      Other arguments as `keras.optimizers.AdamW`; the BERT reference uses
      `epsilon=1e-6` and `global_clipnorm=1.0`.
    """

    def __init__(self, learning_rate=2e-5, weight_decay=0.01, epsilon=1e-6,
                 global_clipnorm=1.0,
                 exclude_from_weight_decay=("LayerNorm", "layer_norm", "bias"),
                 layer_decay_rate=1.0, num_layers=None,
                 layer_pattern=r"transformer_layer_(\d+)/", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         epsilon=epsilon, global_clipnorm=global_clipnorm, **kwargs)
        self.exclude_patterns = tuple(exclude_from_weight_decay)
        if layer_decay_rate != 1.0 and not num_layers:
            raise ValueError("layer_decay_rate needs num_layers (the backbone's depth).")
        self.layer_decay_rate = float(layer_decay_rate)
        self.num_layers = num_layers
        self.layer_pattern = layer_pattern

    def layer_scale(self, variable):
        """The factor on `variable`'s learning rate (1.0 outside the layers)."""
        if self.layer_decay_rate == 1.0:
            return 1.0
        match = re.search(self.layer_pattern, getattr(variable, "path", variable.name))
        if not match:
            return 1.0
        return self.layer_decay_rate ** (self.num_layers - 1 - int(match.group(1)))

    def build(self, var_list):
        # `update_step` receives the backend variable, which has no Keras path;
        # the scales are looked up by the optimizer's variable key instead.
        self._layer_scales = {self._var_key(v): self.layer_scale(v) for v in var_list}
        super().build(var_list)

    def update_step(self, gradient, variable, learning_rate):
        scale = self._layer_scales.get(self._var_key(variable), 1.0)
        if scale != 1.0:
            learning_rate = learning_rate * scale
        return super().update_step(gradient, variable, learning_rate)

    # --- the TensorFlow update, fused (see the class docstring) ------------------

    def _fused(self):
        return keras.backend.backend() == "tensorflow" and not self.amsgrad

    def _apply_weight_decay(self, variables):
        if not self._fused() or self.weight_decay is None:
            return super()._apply_weight_decay(variables)
        decayed = [v for v in variables if self._use_weight_decay(v)]
        if not decayed:
            return None
        factors = _PerDevice()

        def decay(variable):
            factor = factors.get("lr * wd", variable,
                                 lambda: self.learning_rate * self.weight_decay)
            variable.assign_sub(variable * factor)

        def apply(distribution, variables):
            for variable in variables:
                variable = getattr(variable, "value", variable)  # the tf.Variable
                distribution.extended.update(variable, decay, group=False)

        tf.__internal__.distribute.interim.maybe_merge_call(
            apply, self._distribution_strategy, decayed)
        return None

    def _distributed_tf_update_step(self, distribution, grads_and_vars, learning_rate):
        if not self._fused():
            return super()._distributed_tf_update_step(distribution, grads_and_vars,
                                                       learning_rate)
        # Runs in cross-replica context: `learning_rate` (computed by each
        # replica) arrives as a per-replica value, which `extended.update`
        # unwraps for each copy of a variable. So every scalar is made inside
        # `update`, once per (device, dtype): one set for a single device.
        scalars = _PerDevice()
        step = lambda: tf.cast(self.iterations + 1, "float32")  # noqa: E731

        def update(variable, gradient, m, v, lr, scale):
            def get(name, make):
                return scalars.get(name, variable, make)

            if isinstance(gradient, tf.IndexedSlices):  # as Keras' Adam, densified
                gradient = tf.convert_to_tensor(gradient)
            return tf.raw_ops.ResourceApplyAdam(
                var=variable.handle, m=m.handle, v=v.handle,
                beta1_power=get("beta_1 ** t", lambda: tf.pow(
                    tf.cast(self.beta_1, "float32"), step())),
                beta2_power=get("beta_2 ** t", lambda: tf.pow(
                    tf.cast(self.beta_2, "float32"), step())),
                lr=get(("lr", scale), lambda: lr if scale == 1.0 else lr * scale),
                beta1=get("beta_1", lambda: self.beta_1),
                beta2=get("beta_2", lambda: self.beta_2),
                epsilon=get("epsilon", lambda: self.epsilon),
                grad=tf.cast(gradient, variable.dtype), use_locking=False)

        for gradient, variable in grads_and_vars:
            index = self._get_variable_index(variable)
            m = self._momentums[index].value
            v = self._velocities[index].value
            scale = self._layer_scales.get(self._var_key(variable), 1.0)
            distribution.extended.update(variable, update,
                                         args=(gradient, m, v, learning_rate),
                                         kwargs={"scale": scale}, group=False)
        return None

    def _use_weight_decay(self, variable):
        path = getattr(variable, "path", variable.name)
        if any(re.search(p, path) for p in self.exclude_patterns):
            return False
        return super()._use_weight_decay(variable)

    def get_config(self):
        config = super().get_config()
        config.update({"exclude_from_weight_decay": list(self.exclude_patterns),
                       "layer_decay_rate": self.layer_decay_rate,
                       "num_layers": self.num_layers, "layer_pattern": self.layer_pattern})
        return config


class _PerDevice:
    """A step's shared scalars, each made once per (device, dtype) of the
    variables it serves and cast to that dtype: with one device, one op per
    scalar instead of one per variable."""

    def __init__(self):
        self.values = {}

    def get(self, name, variable, make):
        key = (name, variable.device, variable.dtype)
        if key not in self.values:
            self.values[key] = tf.cast(make(), variable.dtype)
        return self.values[key]
