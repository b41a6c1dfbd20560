"""Base class of preprocessors: raw text in, model-ready dicts out, in-graph."""


import keras
import tensorflow as tf

from kerabert.tokenizers.tokenizer import convert_to_string_tensor


class Preprocessor(keras.layers.Layer):
    """A layer mapping `(x, y, sample_weight)` to packed model inputs.

    Runs inside `tf.data.Dataset.map`; subclasses implement `call`.
    """

    tokenizer_cls = None

    def __init__(self, tokenizer, **kwargs):
        super().__init__(**kwargs)
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.tokenizer = tokenizer
        self.built = True

    def check_tokenizer(self):
        """Raises if the tokenizer lacks a token the packing layout needs."""

    @classmethod
    def from_preset(cls, preset, **kwargs):
        from kerabert.presets import loader

        return loader.load_preprocessor(cls, preset, **kwargs)

    def save_to_preset(self, preset_dir):
        from kerabert.presets import saver

        with saver.PresetWriter(preset_dir) as writer:
            writer.write_preprocessor(self)

    def get_config(self):
        config = super().get_config()
        config["tokenizer"] = keras.saving.serialize_keras_object(self.tokenizer)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("tokenizer"), dict):
            config["tokenizer"] = keras.saving.deserialize_keras_object(config["tokenizer"])
        return cls(**config)


def as_segments(x, who, max_segments):
    """A tuple means several segments (a sentence pair); anything else is one."""
    if isinstance(x, tuple):
        segments = list(x)
    elif isinstance(x, dict):
        raise TypeError(
            f"{who} got a dict. It takes raw strings; if your data is already "
            "tokenized, build the task with preprocessor=None.")
    else:
        segments = [x]
    if not 1 <= len(segments) <= max_segments:
        raise ValueError(
            f"{who} takes 1 to {max_segments} segments (a tuple of string batches), "
            f"got {len(segments)}.")
    return segments


def tokenize_segments(tokenizer, x, who, max_segments=2):
    """Tokenizes a segment or a tuple of segments (see `as_segments`).

    Returns `(tokens, unbatched)`: ragged (B, None) ids per segment, and
    whether `x` was one example (then B = 1 and the caller drops the batch).
    """
    segments = [convert_to_string_tensor(s, who)
                for s in as_segments(x, who, max_segments=max_segments)]
    unbatched = segments[0].shape.rank == 0
    if unbatched:
        segments = [tf.expand_dims(s, 0) for s in segments]
    return [tokenizer.tokenize(s) for s in segments], unbatched


def unpack(output, y, sample_weight):
    return keras.utils.pack_x_y_sample_weight(output, y, sample_weight)
