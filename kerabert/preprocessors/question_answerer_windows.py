"""Question + context -> windows, entirely in TensorFlow ops.

The in-graph twin of `QuestionAnswererPreprocessor.featurize`: the same
striding (`window_starts`), max-context bookkeeping (`max_context_flags`),
BERT and XLNet window layouts and per-example word ids, but on string tensors,
so that it runs inside a `tf.function`, a `tf.data` pipeline or a SavedModel
signature with no Python in the loop. `featurize` raises on an empty question
or context and on a question too long for the window; a graph cannot raise for
one bad request in a batch, so here such an example gets no windows and
`valid` is False for it.

Shapes: B examples, N windows in all, L = `sequence_length`, T_b context
tokens of example b.
"""

import tensorflow as tf

from kerabert.preprocessors.xlnet_question_answerer_preprocessor import SEGMENT_CLS
from kerabert.preprocessors.xlnet_question_answerer_preprocessor import SEGMENT_P
from kerabert.preprocessors.xlnet_question_answerer_preprocessor import SEGMENT_PAD
from kerabert.preprocessors.xlnet_question_answerer_preprocessor import SEGMENT_Q
from kerabert.tokenizers.bert_tokenizer import BertTokenizer
from kerabert.tokenizers.xlnet_tokenizer import SPIECE_UNDERLINE
from kerabert.tokenizers.xlnet_tokenizer import XLNetTokenizer
from kerabert.tokenizers.xlnet_tokenizer import whitespace_class
from kerabert.tokenizers.xlnet_tokenizer import whitespace_code_points

LAYOUTS = ("bert", "xlnet")
STRIDE_MODES = ("step", "overlap")


def layout_of(tokenizer):
    """The window layout that goes with a tokenizer: "bert" or "xlnet"."""
    if isinstance(tokenizer, BertTokenizer):
        return "bert"
    if isinstance(tokenizer, XLNetTokenizer):
        return "xlnet"
    raise TypeError(
        f"No question-answering window layout for a {type(tokenizer).__name__}; pass "
        "layout='bert' ([CLS] question [SEP] context [SEP]) or layout='xlnet' "
        "(context <sep> question <sep> <cls>).")


def sanitize_utf8(text):
    """(B,) strings with invalid UTF-8 replaced by U+FFFD (valid text is unchanged).

    Python callers can only pass valid text; a server can receive any bytes, and
    both tokenizers decode with U+FFFD replacement anyway."""
    return tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace",
                                        replacement_char=0xFFFD)


def is_blank(text):
    """(B,) bool: the string is empty or whitespace only, as `not s.strip()`."""
    return tf.strings.regex_full_match(text, whitespace_class() + "*")


def question_answerer_windows(tokenizer, questions, contexts, *, sequence_length, doc_stride,
                              max_query_length=64, stride_mode="overlap", layout=None):
    """Cuts each (question, context) example into packed windows, in-graph.

    Equals `QuestionAnswererPreprocessor.featurize(questions, contexts,
    sequence_length=..., doc_stride=..., max_query_length=...,
    stride_mode=...)` on every example `featurize` accepts (inference fields;
    no training targets).

    Args:
      tokenizer: a `BertTokenizer` or `XLNetTokenizer` (XLNet needs <cls>,
        <sep> and <pad>).
      questions, contexts: (B,) tf.string.
      sequence_length: int, window length L.
      doc_stride: int; "overlap" (HF pipeline): tokens consecutive windows
        share; "step" (reference): how far each window advances.
      max_query_length: int, question tokens kept.
      stride_mode: "overlap" or "step", see `window_starts`.
      layout: "bert" or "xlnet"; default from the tokenizer's class.

    Returns a dict:
      `inputs`: dict of int32 `token_ids`, `segment_ids`, `padding_mask`
        (N, L), and for XLNet `p_mask` (N, L) and `cls_index` (N,).
      `example_index`: (N,) int64, the example of each window (windows of an
        example are consecutive, in order).
      `context_index`: (N, L) int64, the context token at each position, -1
        elsewhere.
      `max_context`: (N, L) bool, the window is the token's best context.
      `token_starts`, `token_ends`: ragged (B, None) int64 character (code
        point) offsets of each example's context tokens.
      `word_ids`: ragged (B, None) int64, the word of each context token.
      `valid`: (B,) bool; False where `featurize` would raise (blank question
        or context, or one without tokens; no room for context after the question; a `doc_stride`
        that leaves no room to advance). Invalid examples have no windows.
    """
    layout = layout or layout_of(tokenizer)
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}.")
    if stride_mode not in STRIDE_MODES:
        raise ValueError(f"stride_mode must be 'step' or 'overlap', got {stride_mode!r}.")
    length, stride, max_query = int(sequence_length), int(doc_stride), int(max_query_length)
    if layout == "xlnet":
        from kerabert.preprocessors.xlnet_preprocessor import require_special_tokens

        require_special_tokens(tokenizer, "question_answerer_windows")

    questions = sanitize_utf8(tf.convert_to_tensor(questions, tf.string))
    contexts = sanitize_utf8(tf.convert_to_tensor(contexts, tf.string))
    query = tf.cast(tokenizer.tokenize(questions)[:, :max_query], tf.int32)
    ids, starts, ends = tokenizer.tokenize_with_offsets(contexts)
    ids = tf.cast(ids, tf.int32)
    query_len = query.row_lengths()
    num_tokens = ids.row_lengths()

    # --- window starts (`window_starts`), vectorised over examples -----------
    budget = length - query_len - 3
    step = budget - stride if stride_mode == "overlap" else tf.fill(tf.shape(budget), stride)
    step = tf.cast(step, tf.int64)
    # Text of only characters the tokenizer drops is blank to the model too.
    valid = ((~is_blank(questions)) & (~is_blank(contexts)) & (query_len > 0) & (num_tokens > 0)
             & (budget >= 1) & (step > 0))
    advance = tf.maximum(tf.minimum(step, budget), 1)
    beyond = tf.maximum(num_tokens - budget, 0)
    num_windows = tf.where(valid, 1 + (beyond + advance - 1) // advance, 0)

    example_index = tf.repeat(tf.range(tf.size(num_windows, out_type=tf.int64)), num_windows)
    first_window = tf.cumsum(num_windows, exclusive=True)
    window = tf.range(tf.size(example_index, out_type=tf.int64)) - tf.gather(
        first_window, example_index)
    start = window * tf.gather(advance, example_index)
    count = tf.minimum(tf.gather(budget, example_index),
                       tf.gather(num_tokens, example_index) - start)

    # Flat positions of each window's context tokens in `ids.flat_values`.
    token_base = tf.gather(ids.row_starts(), example_index) + start
    slots = tf.ragged.range(token_base, token_base + count)
    window_ids = tf.gather(ids.flat_values, slots)
    flags = _max_context(slots, start, count, tf.size(ids.flat_values, out_type=tf.int64))
    positions = slots - tf.expand_dims(tf.gather(ids.row_starts(), example_index), 1)
    window_query = tf.gather(query, example_index)

    pack = _pack_xlnet if layout == "xlnet" else _pack_bert
    inputs, context_index, max_context = pack(
        tokenizer, window_query, window_ids, positions, flags, length)
    return {
        "inputs": inputs,
        "example_index": example_index,
        "context_index": context_index,
        "max_context": max_context,
        "token_starts": tf.cast(starts, tf.int64),
        "token_ends": tf.cast(ends, tf.int64),
        "word_ids": _word_ids(tokenizer, layout, ids, starts, contexts),
        "valid": valid,
    }


def _max_context(slots, start, count, total_tokens):
    """Ragged (N, None) bool: whether each window is its tokens' best one.

    `max_context_flags` in parallel: score = min(tokens left, tokens right) +
    0.01 * window length in float64 (so ties are exactly the numpy ones), best
    score per token, ties to the earlier window."""
    window = slots.value_rowids()
    offset = slots.flat_values - tf.gather(slots.flat_values, tf.gather(slots.row_starts(), window))
    length = tf.gather(count, window)
    score = (tf.cast(tf.minimum(offset, length - 1 - offset), tf.float64)
             + tf.constant(0.01, tf.float64) * tf.cast(length, tf.float64))
    token = slots.flat_values
    best = tf.math.unsorted_segment_max(score, token, total_tokens)
    candidate = tf.where(score == tf.gather(best, token), window, tf.int64.max)
    best_window = tf.math.unsorted_segment_min(candidate, token, total_tokens)
    return slots.with_flat_values(tf.gather(best_window, token) == window)


def _column(rows, value, dtype):
    """A ragged (rows, 1) column of `value`."""
    return tf.RaggedTensor.from_tensor(tf.fill(tf.stack([rows, 1]), tf.cast(value, dtype)))


def _dense(parts, default, length):
    return tf.concat(parts, axis=1).to_tensor(default_value=default, shape=[None, length])


def _pack_bert(tokenizer, query, window, positions, flags, length):
    """`[CLS] question [SEP] window [SEP]`, padded on the right (see
    `BertQuestionAnswererPreprocessor.pack_window`)."""
    rows = window.nrows()

    def col(value, dtype=tf.int32):
        return _column(rows, value, dtype)

    q0, w0 = tf.zeros_like(query), tf.zeros_like(window)
    token_ids = _dense([col(tokenizer.cls_token_id), query, col(tokenizer.sep_token_id), window,
                        col(tokenizer.sep_token_id)], tokenizer.pad_token_id, length)
    segment_ids = _dense([col(0), q0, col(0), w0 + 1, col(1)], 0, length)
    padding_mask = _dense([col(1), q0 + 1, col(1), w0 + 1, col(1)], 0, length)
    q_none = tf.cast(q0, tf.int64) - 1
    context_index = _dense([col(-1, tf.int64), q_none, col(-1, tf.int64), positions,
                            col(-1, tf.int64)], tf.constant(-1, tf.int64), length)
    q_false, no = tf.cast(q0, tf.bool), col(False, tf.bool)
    max_context = _dense([no, q_false, no, flags, no], False, length)
    inputs = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}
    return inputs, context_index, max_context


def _pack_xlnet(tokenizer, query, window, positions, flags, length):
    """`window <sep> question <sep> <cls>`, padded on the right (see
    `XLNetQuestionAnswererPreprocessor.pack_window`)."""
    rows = window.nrows()

    def col(value, dtype=tf.int32):
        return _column(rows, value, dtype)

    q0, w0 = tf.zeros_like(query), tf.zeros_like(window)
    sep, cls = tokenizer.sep_token_id, tokenizer.cls_token_id
    token_ids = _dense([window, col(sep), query, col(sep), col(cls)], tokenizer.pad_token_id,
                       length)
    segment_ids = _dense([w0 + SEGMENT_P, col(SEGMENT_P), q0 + SEGMENT_Q, col(SEGMENT_Q),
                          col(SEGMENT_CLS)], SEGMENT_PAD, length)
    padding_mask = _dense([w0 + 1, col(1), q0 + 1, col(1), col(1)], 0, length)
    p_mask = _dense([w0, col(1), q0 + 1, col(1), col(0)], 1, length)
    cls_index = tf.cast(window.row_lengths() + query.row_lengths() + 2, tf.int32)
    q_none = tf.cast(q0, tf.int64) - 1
    minus_one = col(-1, tf.int64)
    context_index = _dense([positions, minus_one, q_none, minus_one, minus_one],
                           tf.constant(-1, tf.int64), length)
    q_false, no = tf.cast(q0, tf.bool), col(False, tf.bool)
    max_context = _dense([flags, no, q_false, no, no], False, length)
    inputs = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask,
              "p_mask": p_mask, "cls_index": cls_index}
    return inputs, context_index, max_context


def _row_cumsum(ragged_bool):
    """Per-row inclusive cumulative count of True values, ragged int64."""
    values = tf.cast(ragged_bool.flat_values, tf.int64)
    through = tf.cumsum(values)
    before_row = tf.gather(tf.concat([[0], through], 0), ragged_bool.row_starts())
    return ragged_bool.with_flat_values(
        through - tf.gather(before_row, ragged_bool.value_rowids()))


def _word_ids(tokenizer, layout, ids, starts, contexts):
    """Ragged (B, None) int64: the pre-tokenization word of each context token,
    as the preprocessors' `word_ids` (cumulative count of word starts - 1)."""
    vocabulary = tokenizer.get_vocabulary()
    if layout == "bert":
        # A word is a token plus the "##" continuations after it.
        continuation = tf.constant([t.startswith(tokenizer.suffix_indicator) for t in vocabulary])
        new_word = ids.with_flat_values(~tf.gather(continuation, ids.flat_values))
        return _row_cumsum(new_word) - 1
    # `context_word_ids`: a piece starting with "▁" starts a word, and so does a
    # piece right after whitespace in the context; a piece right after a bare
    # "▁" does not; the first piece always does.
    marked = tf.constant([t.startswith(SPIECE_UNDERLINE) for t in vocabulary])
    bare = tf.constant([t == SPIECE_UNDERLINE for t in vocabulary])
    flat_ids = ids.flat_values
    row = ids.value_rowids()
    first_in_row = tf.range(tf.size(flat_ids, out_type=tf.int64)) == tf.gather(
        ids.row_starts(), row)
    chars = tf.strings.unicode_decode(contexts, "UTF-8", errors="replace",
                                      replacement_char=0xFFFD)
    start = tf.cast(starts.flat_values, tf.int64)
    before = tf.gather(chars.flat_values,
                       tf.maximum(tf.gather(chars.row_starts(), row) + start - 1, 0))
    after_space = (start > 0) & _is_in(before, tf.constant(whitespace_code_points()))
    after_bare = tf.concat([[False], tf.gather(bare, flat_ids)[:-1]], 0) & ~first_in_row
    new_word = ((tf.gather(marked, flat_ids) | after_space) & ~after_bare) | first_in_row
    return _row_cumsum(ids.with_flat_values(new_word)) - 1


def _is_in(values, sorted_set):
    """Elementwise membership of int32 `values` in a sorted 1-D int32 tensor."""
    position = tf.searchsorted(sorted_set, values, side="left")
    position = tf.minimum(position, tf.size(sorted_set) - 1)
    return tf.gather(sorted_set, position) == values
