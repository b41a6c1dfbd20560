"""Packs one or two text segments as BERT inputs."""

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from kerabert.preprocessors.segment_preprocessor import SegmentPreprocessor
from kerabert.tokenizers.bert_tokenizer import BertTokenizer


@keras.saving.register_keras_serializable(package="kerabert")
class BertPreprocessor(SegmentPreprocessor):
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

    def pack(self, tokens, sequence_length):
        """Trims, adds [CLS]/[SEP] and pads ragged (B, None) token segments."""
        tokens = self.trim(tokens, sequence_length)
        token_ids, segment_ids = tf_text.combine_segments(
            tokens, start_of_sequence_id=self.tokenizer.cls_token_id,
            end_of_segment_id=self.tokenizer.sep_token_id)
        shape = [None, sequence_length]
        token_ids = token_ids.to_tensor(default_value=self.tokenizer.pad_token_id, shape=shape)
        segment_ids = tf.cast(segment_ids.to_tensor(default_value=0, shape=shape), "int32")
        return tf.cast(token_ids, "int32"), segment_ids

    def pack_inputs(self, tokens, sequence_length):
        token_ids, segment_ids = self.pack(tokens, sequence_length)
        return {
            "token_ids": token_ids,
            "segment_ids": segment_ids,
            "padding_mask": tf.cast(token_ids != self.tokenizer.pad_token_id, "int32"),
        }
