"""Base class of kerabert backbones: a functional Keras model plus preset I/O."""

import keras


class Backbone(keras.Model):
    """A functional model whose constructor arguments are its config.

    Subclasses build their layers, call `super().__init__(inputs=..., outputs=...)`
    and store their arguments; `get_config()` returns those arguments, so a
    backbone serialises as a short, readable dict (and `.keras` files round-trip).
    """

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)

    @property
    def token_embedding(self):
        return self.get_layer("token_embedding")

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Builds the backbone stored in `preset`.

        Args:
          preset: a kerabert preset folder or a Hugging Face model folder.
          load_weights: bool. If False, the architecture is built with random
            weights.
          **kwargs: override config entries (e.g. `dtype="mixed_bfloat16"`,
            `dropout=0.0`).
        """
        from kerabert.presets import loader

        return loader.load_backbone(cls, preset, load_weights=load_weights, **kwargs)

    def save_to_preset(self, preset_dir):
        """Writes `config.json`, `model.weights.h5` and `metadata.json`, atomically."""
        from kerabert.presets import saver

        with saver.PresetWriter(preset_dir) as writer:
            writer.write_backbone(self)
