"""LAMB (You et al., 2019), the large-batch optimizer used for BERT pretraining.

Not in the 2019 reference BERT / XLNet code: this follows the paper's Algorithm 2
as the TF-Addons / Model Garden `LAMB` implements it.
"""

import re

import keras
from keras import ops

from kerabert.optimizers.replica_safe_clipping import ClipAfterAllReduce


@keras.saving.register_keras_serializable(package="kerabert")
class Lamb(ClipAfterAllReduce, keras.optimizers.Optimizer):
    """LAMB with decoupled weight decay inside the trust ratio.

    Per variable `w` with gradient `g`, at step `t` (1-based):

        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        r = (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)
        r = r + weight_decay * w                  # unless excluded from decay
        ratio = ||w|| / ||r||                     # 1.0 if either norm is 0, or
                                                  # if excluded from adaptation
        w = w - learning_rate * ratio * r

    Exclusions are regexes searched in variable *paths* (e.g.
    "transformer_layer_0/output_layer_norm/gamma"), as in `AdamWeightDecay`:
    in Keras 3 `variable.name` is only "gamma" or "bias". Variables excluded via
    the inherited `exclude_from_weight_decay(var_list=..., var_names=...)` are
    not decayed either.

    How `keras.optimizers.Lamb` (Keras 3.15) differs, which is why this class
    does not reuse it:
      - Weight decay there is the base optimizer's AdamW-style
        `w -= lr * wd * w`, applied *before* and *outside* the LAMB step, so the
        decay term is neither part of `r` nor scaled by the trust ratio, and
        `||w||` is taken after decaying. Here (paper, TF-Addons) `wd * w` is
        added to `r` before the norms.
      - Its decay exclusions come only from the base optimizer's
        `exclude_from_weight_decay(var_names=...)`, matched on
        `variable.name` (not the Keras path), and it has no
        exclusion from layer adaptation: every variable, LayerNorm and biases
        included, gets the trust ratio. Here both exclusion lists match paths,
        and the adaptation list defaults to the decay list (TF-Addons).
      - Its `epsilon` defaults to 1e-7, `weight_decay` to None and no clipping;
        the defaults here are the BERT pretraining ones (1e-6, 0.01,
        `global_clipnorm=1.0`).
      - Under `tf.distribute` Keras clips each replica's partial gradient
        before the all-reduce (true of every Keras 3.15 optimizer on TF); here
        the clip follows the all-reduce, so a MirroredStrategy run equals the
        single-device run for the same global batch.
    Moments, bias correction (`m / (1 - beta_1**t)`, `v / (1 - beta_2**t)`),
    epsilon outside the square root and the zero-norm fallback are the same.

    Args:
      learning_rate: float or schedule (e.g. `WarmupPolynomialDecay`).
      beta_1, beta_2, epsilon: Adam moment constants.
      weight_decay: decoupled decay rate added to the update; 0/None = off.
      exclude_from_weight_decay: regex patterns searched in variable paths.
      exclude_from_layer_adaptation: regex patterns; variables matching get
        ratio 1.0. None = the same as `exclude_from_weight_decay`.
      Other arguments as `keras.optimizers.Optimizer`.
    """

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-6,
                 weight_decay=0.01, global_clipnorm=1.0,
                 exclude_from_weight_decay=("LayerNorm", "layer_norm", "bias"),
                 exclude_from_layer_adaptation=None, name="lamb", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         global_clipnorm=global_clipnorm, name=name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.exclude_patterns = tuple(exclude_from_weight_decay or ())
        self.adaptation_exclude_patterns = (
            None if exclude_from_layer_adaptation is None
            else tuple(exclude_from_layer_adaptation))

    def _matches(self, variable, patterns):
        path = getattr(variable, "path", variable.name)
        return any(re.search(p, path) for p in patterns)

    def _use_weight_decay(self, variable):
        if not self.weight_decay or self._matches(variable, self.exclude_patterns):
            return False
        return super()._use_weight_decay(variable)

    def _use_layer_adaptation(self, variable):
        patterns = self.adaptation_exclude_patterns
        if patterns is None:
            patterns = self.exclude_patterns
        return not self._matches(variable, patterns)

    def build(self, var_list):
        if self.built:
            return
        # The TF backend hands `update_step` the tf.Variable (a per-device
        # component under a strategy), which has no Keras path; decide per
        # variable here and look the answer up by the optimizer's variable key.
        self._lamb_flags = {
            self._var_key(v): (self._use_weight_decay(v), self._use_layer_adaptation(v))
            for v in var_list}
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])

    def _apply_weight_decay(self, variables):
        # The base optimizer would decay outside the trust ratio; LAMB puts the
        # decay term into the update instead (see `update_step`).
        return

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        decay, adapt = self._lamb_flags.get(self._var_key(variable), (False, True))

        index = self._get_variable_index(variable)
        m = self._momentums[index]
        v = self._velocities[index]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - beta_2))

        m_hat = ops.divide(m, 1 - ops.power(beta_1, step))
        v_hat = ops.divide(v, 1 - ops.power(beta_2, step))
        update = ops.divide(m_hat, ops.add(ops.sqrt(v_hat), self.epsilon))
        if decay:
            update = ops.add(update, ops.multiply(ops.cast(self.weight_decay, dtype),
                                                  variable))
        if adapt:
            w_norm = ops.sqrt(ops.sum(ops.square(variable)))
            r_norm = ops.sqrt(ops.sum(ops.square(update)))
            usable = ops.logical_and(ops.greater(w_norm, 0), ops.greater(r_norm, 0))
            # Guarded divisor: the branch ops.where discards must not be inf/NaN.
            ratio = ops.where(usable, w_norm / ops.where(usable, r_norm, 1.0), 1.0)
            lr = lr * ratio
        self.assign_sub(variable, ops.multiply(lr, update))

    def get_config(self):
        config = super().get_config()
        config.update({
            "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
            "exclude_from_weight_decay": list(self.exclude_patterns),
            "exclude_from_layer_adaptation": (
                None if self.adaptation_exclude_patterns is None
                else list(self.adaptation_exclude_patterns)),
        })
        return config
