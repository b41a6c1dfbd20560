"""Base of the preprocessors that pack one text segment or a pair, in-graph."""

import tensorflow_text as tf_text

from kerabert.preprocessors.preprocessor import Preprocessor
from kerabert.preprocessors.preprocessor import tokenize_segments
from kerabert.preprocessors.preprocessor import unpack

TRUNCATE_MODES = ("round_robin", "waterfall")


class SegmentPreprocessor(Preprocessor):
    """Tokenizes `x` (a string batch, or a tuple `(a, b)` of them) and packs it
    to `sequence_length` with one special token per segment plus one.

    Subclasses give the layout (`pack_inputs`) and may check the tokenizer
    first (`check_tokenizer`).

    Truncation: "round_robin" is the reference `_truncate_seq_pair` (remove from
    the end of the longer segment; ties: from B), which tensorflow-text's
    `RoundRobinTrimmer` reproduces; "waterfall" keeps A whole while it fits and
    cuts from the end of the last segment first.
    """

    def __init__(self, tokenizer, sequence_length=512, truncate="round_robin", **kwargs):
        super().__init__(tokenizer, **kwargs)
        if truncate not in TRUNCATE_MODES:
            raise ValueError(f"truncate must be 'round_robin' or 'waterfall', got {truncate!r}.")
        self.sequence_length = int(sequence_length)
        if self.sequence_length < 3:
            raise ValueError(f"sequence_length must be at least 3, got {sequence_length}.")
        self.truncate = truncate

    def pack_inputs(self, tokens, sequence_length):
        """Ragged (B, None) token segments -> dict of int32 (B, L) model inputs."""
        raise NotImplementedError

    def trim(self, tokens, sequence_length):
        """Trims the segments so they and their special tokens fit."""
        budget = sequence_length - 1 - len(tokens)
        if budget < 0:
            raise ValueError(f"sequence_length {sequence_length} is too short for "
                             f"{len(tokens)} segments.")
        trimmer = (tf_text.RoundRobinTrimmer if self.truncate == "round_robin"
                   else tf_text.WaterfallTrimmer)(max_seq_length=budget)
        return trimmer.trim(tokens)

    def call(self, x, y=None, sample_weight=None, sequence_length=None):
        self.check_tokenizer()
        tokens, unbatched = tokenize_segments(self.tokenizer, x, type(self).__name__)
        output = self.pack_inputs(tokens, int(sequence_length or self.sequence_length))
        if unbatched:
            output = {k: v[0] for k, v in output.items()}
        return unpack(output, y, sample_weight)

    def get_config(self):
        config = super().get_config()
        config.update({"sequence_length": self.sequence_length, "truncate": self.truncate})
        return config
