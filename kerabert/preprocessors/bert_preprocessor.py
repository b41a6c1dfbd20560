"""Packs one or two text segments as BERT inputs."""

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from kerabert.preprocessors.preprocessor import Preprocessor
from kerabert.preprocessors.preprocessor import as_segments
from kerabert.preprocessors.preprocessor import unpack
from kerabert.tokenizers.bert_tokenizer import BertTokenizer
from kerabert.tokenizers.tokenizer import convert_to_string_tensor


@keras.saving.register_keras_serializable(package="kerabert")
class BertPreprocessor(Preprocessor):
    """Tokenizes and packs `[CLS] A [SEP]` or `[CLS] A [SEP] B [SEP]`.

    Truncation follows the reference `_truncate_seq_pair`: remove tokens from the
    end of the longer segment first (ties: from B). tensorflow-text's
    `RoundRobinTrimmer` computes the same lengths (tested against a transcription
    of the reference).

    Args:
      tokenizer: a `BertTokenizer`.
      sequence_length: int, output length L (padded on the right).
      truncate: "round_robin" (reference) or "waterfall" (cut the last segment).

    Call arguments:
      x: a string or batch of strings, or a tuple `(a, b)` of those for pairs.
      y, sample_weight: passed through.
    Returns:
      dict of int32 `token_ids`, `segment_ids` (A=0, B=1), `padding_mask`
      (1 = real token), each (B, L) (or (L,) for one unbatched example), plus y
      and sample_weight when given.
    """

    tokenizer_cls = BertTokenizer

    def __init__(self, tokenizer, sequence_length=512, truncate="round_robin", **kwargs):
        super().__init__(tokenizer, **kwargs)
        if truncate not in ("round_robin", "waterfall"):
            raise ValueError(f"truncate must be 'round_robin' or 'waterfall', got {truncate!r}.")
        self.sequence_length = int(sequence_length)
        if self.sequence_length < 3:
            raise ValueError(f"sequence_length must be at least 3, got {sequence_length}.")
        self.truncate = truncate

    def pack(self, tokens, sequence_length):
        """Trims, adds [CLS]/[SEP] and pads ragged (B, None) token segments."""
        budget = sequence_length - 1 - len(tokens)  # [CLS] + one [SEP] per segment
        if budget < 0:
            raise ValueError(f"sequence_length {sequence_length} is too short for "
                             f"{len(tokens)} segments.")
        trimmer = (tf_text.RoundRobinTrimmer if self.truncate == "round_robin"
                   else tf_text.WaterfallTrimmer)(max_seq_length=budget)
        tokens = trimmer.trim(tokens)
        token_ids, segment_ids = tf_text.combine_segments(
            tokens, start_of_sequence_id=self.tokenizer.cls_token_id,
            end_of_segment_id=self.tokenizer.sep_token_id)
        shape = [None, sequence_length]
        token_ids = token_ids.to_tensor(default_value=self.tokenizer.pad_token_id, shape=shape)
        segment_ids = tf.cast(segment_ids.to_tensor(default_value=0, shape=shape), "int32")
        return tf.cast(token_ids, "int32"), segment_ids

    def call(self, x, y=None, sample_weight=None, sequence_length=None):
        segments = [convert_to_string_tensor(s, "BertPreprocessor")
                    for s in as_segments(x, "BertPreprocessor", max_segments=2)]
        unbatched = segments[0].shape.rank == 0
        if unbatched:
            segments = [tf.expand_dims(s, 0) for s in segments]
        tokens = [self.tokenizer.tokenize(s) for s in segments]
        token_ids, segment_ids = self.pack(tokens, sequence_length or self.sequence_length)
        output = {
            "token_ids": token_ids,
            "segment_ids": segment_ids,
            "padding_mask": tf.cast(token_ids != self.tokenizer.pad_token_id, "int32"),
        }
        if unbatched:
            output = {k: v[0] for k, v in output.items()}
        return unpack(output, y, sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update({"sequence_length": self.sequence_length, "truncate": self.truncate})
        return config
