"""The learned biases of XLNet's relative attention, shared or per layer."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerabert")
class XLNetRelativeBias(keras.layers.Layer):
    """Holds `r_w_bias` (content), `r_r_bias` (position) and `r_s_bias` (segment).

    With `untie_r=False` one (N, D) set is shared by every layer (the original
    XLNet's default); with `untie_r=True` each layer has its own, stored as
    (num_layers, N, D) — the reference's variable shapes, so TF1 checkpoints map
    one to one.

    Call arguments:
      inputs: any tensor (ignored; a functional graph needs an input).
    Returns:
      `(r_w_bias, r_r_bias, r_s_bias)`, each (N, D), or (num_layers, N, D) with
      `untie_r`; `for_layer` picks one layer's set.
    """

    def __init__(self, num_layers, num_heads, head_dim, untie_r=True,
                 initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.untie_r = bool(untie_r)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape=None):
        shape = ((self.num_layers,) if self.untie_r else ()) + (self.num_heads, self.head_dim)
        for name in ("r_w_bias", "r_r_bias", "r_s_bias"):
            setattr(self, name, self.add_weight(shape=shape, initializer=self.initializer,
                                                name=name))
        self.built = True

    def call(self, inputs):
        return tuple(ops.convert_to_tensor(v)
                     for v in (self.r_w_bias, self.r_r_bias, self.r_s_bias))

    def compute_output_spec(self, inputs):
        shape = ((self.num_layers,) if self.untie_r else ()) + (self.num_heads, self.head_dim)
        # Three distinct specs: the functional graph tells outputs apart by identity.
        return tuple(keras.KerasTensor(shape, dtype=self.compute_dtype) for _ in range(3))

    def for_layer(self, biases, index):
        """Layer `index`'s (N, D) biases out of this layer's output."""
        return tuple(b[index] for b in biases) if self.untie_r else tuple(biases)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_layers": self.num_layers, "num_heads": self.num_heads,
            "head_dim": self.head_dim, "untie_r": self.untie_r,
            "initializer": keras.initializers.serialize(self.initializer),
        })
        return config
