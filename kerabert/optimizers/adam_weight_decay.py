"""AdamW as the BERT reference fine-tunes with it (SEED_NOTES §7.1)."""

import re

import keras


@keras.saving.register_keras_serializable(package="kerabert")
class AdamWeightDecay(keras.optimizers.AdamW):
    """Keras AdamW whose weight-decay exclusions match variable *paths*.

    The reference decays every variable except LayerNorm parameters and biases,
    matched by regex on TF1 variable names. In Keras 3 `variable.name` is only
    "gamma" or "kernel", so the patterns are matched on `variable.path`
    (e.g. "transformer_layer_0/output_layer_norm/gamma").

    Decay is decoupled and scaled by the current learning rate, applied before the
    Adam step: `var -= lr * weight_decay * var` (the reference formula).

    Args:
      exclude_from_weight_decay: regex patterns searched in variable paths.
      Other arguments as `keras.optimizers.AdamW`; the reference uses
      `epsilon=1e-6` and `global_clipnorm=1.0`.
    """

    def __init__(self, learning_rate=2e-5, weight_decay=0.01, epsilon=1e-6,
                 global_clipnorm=1.0,
                 exclude_from_weight_decay=("LayerNorm", "layer_norm", "bias"),
                 **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         epsilon=epsilon, global_clipnorm=global_clipnorm, **kwargs)
        self.exclude_patterns = tuple(exclude_from_weight_decay)

    def _use_weight_decay(self, variable):
        path = getattr(variable, "path", variable.name)
        if any(re.search(p, path) for p in self.exclude_patterns):
            return False
        return super()._use_weight_decay(variable)

    def get_config(self):
        config = super().get_config()
        config["exclude_from_weight_decay"] = list(self.exclude_patterns)
        return config
