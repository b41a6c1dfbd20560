"""Base class for kerabert tokenizers: a Keras layer that runs on strings in-graph."""


import keras
import numpy as np
import tensorflow as tf


def _lone_surrogate(inputs, where="the text"):
    """`(where, position, code point)` of the first lone surrogate in a str or
    a (nested) sequence of str, or None."""
    if isinstance(inputs, str):
        try:
            inputs.encode("utf-8")
        except UnicodeEncodeError as error:
            return where, error.start, ord(inputs[error.start])
        return None
    if isinstance(inputs, (list, tuple, np.ndarray)):
        for i, item in enumerate(inputs):
            found = _lone_surrogate(item, f"text {i}" if where == "the text" else f"{where}[{i}]")
            if found:
                return found
    return None


def check_encodable(inputs, who):
    """Raises a `ValueError` naming `who` when a Python str in `inputs` holds a
    lone surrogate (U+D800..U+DFFF): UTF-8 cannot encode it, so it cannot
    become a tf.string. Bytes are never refused (invalid UTF-8 reads as U+FFFD)."""
    found = _lone_surrogate(inputs)
    if found:
        where, position, code_point = found
        raise ValueError(
            f"{who} got {where} with the lone surrogate U+{code_point:04X} at character "
            f"{position}, which is not valid Unicode and cannot be encoded as UTF-8 "
            "(it usually comes from decoding bytes with errors='surrogateescape'). "
            "Remove or replace it, e.g. text.encode('utf-8', 'replace').decode('utf-8'), "
            "or pass the raw bytes: invalid UTF-8 is read as U+FFFD.")


def convert_to_string_tensor(inputs, who):
    """Converts Python strings, lists/arrays of strings or string tensors.

    Raises a `TypeError` naming `who` for anything that is not text, so a user who
    passes token ids or numbers to a tokenizer learns at once what went wrong,
    and a `ValueError` for a str that UTF-8 cannot encode (`check_encodable`).
    """
    if isinstance(inputs, (tf.Tensor, tf.RaggedTensor)):
        tensor = inputs
    elif isinstance(inputs, (str, bytes)):
        check_encodable(inputs, who)
        tensor = tf.constant(inputs)
    else:
        if isinstance(inputs, np.ndarray) and inputs.dtype.kind not in "USO":
            raise TypeError(
                f"{who} expects text (str, a list of str, or a tf.string tensor), "
                f"got a numpy array of dtype {inputs.dtype}."
            )
        try:
            tensor = tf.constant(inputs) if len(inputs) else tf.constant([], tf.string)
        except (TypeError, ValueError) as error:
            check_encodable(inputs, who)
            raise TypeError(
                f"{who} expects text (str, a list of str, or a tf.string tensor), "
                f"got {type(inputs).__name__}: {error}"
            ) from None
    if tensor.dtype != tf.string:
        raise TypeError(
            f"{who} expects text (str, a list of str, or a tf.string tensor), got a "
            f"tensor of dtype {tensor.dtype.name}. Pass raw strings; if you already "
            "have token ids, call the backbone directly or use preprocessor=None."
        )
    return tensor


class Tokenizer(keras.layers.Layer):
    """Base tokenizer layer.

    Subclasses implement `tokenize`, `detokenize`, `get_vocabulary` and the asset
    hooks `save_assets(dir)` / `load_assets(dir)`, which both `save_to_preset` and
    Keras' `.keras` saving call, so vocabularies never go into JSON configs.
    """

    # Where tokenizer assets live inside a preset folder.
    asset_dir = "assets/tokenizer"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Preprocessing layers take strings, not float tensors.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

    def call(self, inputs):
        return self.tokenize(inputs)

    # --- shared plumbing; subclasses provide `_tokenize_batch(text)` and
    # `_tokenize_batch_with_offsets(text)` (1-D string tensor -> ragged ids
    # [and offsets]), `_detokenize_batch(ragged ids)`, `check_vocabulary()`
    # and `_vocabulary`.

    def check_vocabulary(self):
        """Raises a `ValueError` saying how to give the tokenizer its vocabulary
        when it has none yet (built without one, before `load_assets`)."""
        raise NotImplementedError

    def get_vocabulary(self):
        self.check_vocabulary()
        return list(self._vocabulary)

    def vocabulary_size(self):
        self.check_vocabulary()
        return len(self._vocabulary)

    def _prepare(self, inputs):
        """Validates text input; returns a 1-D string tensor and whether the input
        was a single string."""
        self.check_vocabulary()
        who = type(self).__name__
        text = convert_to_string_tensor(inputs, who)
        scalar = text.shape.rank == 0
        if scalar:
            text = tf.expand_dims(text, 0)
        if text.shape.rank != 1:
            raise ValueError(
                f"{who} takes a string or a 1-D batch of strings, got shape "
                f"{text.shape}. Flatten the batch first.")
        return text, scalar

    def _run(self, name, text, spec=None):
        """Calls method `name` traced once when eager (op-by-op dispatch of a few
        dozen string ops costs ~20 ms per call), directly inside a graph.
        `spec`: the input's `TypeSpec` (default: a 1-D string tensor)."""
        fn = getattr(self, name)
        if not tf.executing_eagerly():
            return fn(text)
        cache = self.__dict__.setdefault("_traced", {})
        if name not in cache:
            cache[name] = tf.function(
                fn, input_signature=[spec or tf.TensorSpec([None], tf.string)])
        return cache[name](text)

    def tokenize(self, inputs):
        """str or (B,) strings -> int32 ids, (None,) or ragged (B, None)."""
        text, scalar = self._prepare(inputs)
        ids = self._run("_tokenize_batch", text)
        return ids[0] if scalar else ids

    def tf_resources(self):
        """The TensorFlow resources a SavedModel must track to run this
        tokenizer (tables and models that are not graph constants)."""
        return []

    def tokenize_with_offsets(self, inputs):
        """`tokenize` plus each token's character span in the original text:
        `(ids, starts, ends)`, int32 ids and int64 code-point offsets (end
        exclusive), each (None,) or ragged (B, None). Runs in-graph. Bytes
        (and tf.string values) that are not valid UTF-8 read as
        `data.decode("utf-8", "replace")`; offsets count its characters."""
        text, scalar = self._prepare(inputs)
        ids, starts, ends = self._run("_tokenize_batch_with_offsets", text)
        if scalar:
            return ids[0], starts[0], ends[0]
        return ids, starts, ends

    def detokenize(self, ids):
        """Ids ((L,), (B, L) or ragged (B, None)) -> text, padding dropped."""
        self.check_vocabulary()
        ids = tf.convert_to_tensor(ids) if not isinstance(ids, tf.RaggedTensor) else ids
        scalar = ids.shape.rank == 1
        if scalar:
            ids = tf.expand_dims(ids, 0)
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        ids = tf.cast(ids, tf.int32)
        if ids.ragged_rank == 1:
            # Eager op-by-op detokenization costs ~60 ms a call.
            text = self._run("_detokenize_rows", ids.with_row_splits_dtype(tf.int64),
                             tf.RaggedTensorSpec([None, None], tf.int32, ragged_rank=1))
        else:
            text = self._detokenize_rows(ids)
        return text[0] if scalar else text

    def _detokenize_rows(self, ids):
        """Ragged int32 (B, None) ids -> (B,) strings, padding dropped."""
        if self.pad_token_id is not None:
            ids = tf.ragged.boolean_mask(ids, ids != self.pad_token_id)
        return self._detokenize_batch(ids)

    def id_to_token(self, token_id):
        if getattr(self, "_cached_index", None) is None:
            self._token_index()
        vocabulary = self._cached_vocabulary
        if not 0 <= int(token_id) < len(vocabulary):
            raise ValueError(
                f"Token id {token_id} is out of range for a vocabulary of "
                f"{len(vocabulary)} tokens."
            )
        return vocabulary[int(token_id)]

    def token_to_id(self, token):
        index = self._token_index()
        if token not in index:
            raise ValueError(f"Token {token!r} is not in the vocabulary.")
        return index[token]

    def _token_index(self):
        if getattr(self, "_cached_index", None) is None:
            self._cached_vocabulary = self.get_vocabulary()
            self._cached_index = {t: i for i, t in enumerate(self._cached_vocabulary)}
        return self._cached_index

    @classmethod
    def from_preset(cls, preset, **kwargs):
        """Builds the tokenizer stored in `preset` (any format kerabert reads)."""
        from kerabert.presets import loader

        return loader.load_tokenizer(cls, preset, **kwargs)

    def save_to_preset(self, preset_dir):
        from kerabert.presets import saver

        with saver.PresetWriter(preset_dir) as writer:
            writer.write_tokenizer(self)
