"""Raw-text signature of the extractive question answerers (BERT, XLNet).

`serving_default(question, context)`: (B,) tf.string each ->
  `answer` (B,) tf.string, `start`, `end` (B,) int64, `score` (B,) float32:
the top answer of `task.answer(question=..., context=...)` at the settings
fixed at export (top_k=1), with `context[start:end] == answer` in Unicode
characters (Python `str` indexes).

Everything `answer()` does happens in the graph:
1. `question_answerer_windows` cuts each context into windows of
   `max_seq_len` tokens sharing `doc_stride` tokens (the HF pipeline's
   "overlap" striding), with the question truncated to `max_question_len`.
2. The model runs on the windows, `batch_size` windows per call (BERT
   windows trimmed to the longest one rounded up to 32 positions, as
   `QAFeatures.trimmed`; XLNet windows at full length, as
   `XLNetQuestionAnswerer.answer`).
3. Decoding:
   - BERT, as `span_decoding.decode_pipeline`: per window, float64 softmaxes
     of start and end logits over context tokens and [CLS], span scores
     p_start * p_end for end >= start within `max_answer_len` tokens, the
     window's `2 * top_k + 10` best spans (`top_k` with
     `align_to_words=False`) snapped to whole words; spans with the same
     lower-cased text add their scores (across windows too) and keep the
     first one's offsets; the null answer ("", 0, 0) scores the smallest
     [CLS] product over the windows and wins only with a strictly higher
     score.
   - XLNet, as `XLNetQuestionAnswerer.answer` over `span_decoding.decode_beam`:
     beam candidates (i-th start, j-th end) whose start and end are context
     tokens, the start in its max-context window, 1 <= length <=
     `max_answer_len`; the best `start_log_prob + end_log_prob` with
     non-empty text (after word alignment) wins, scored `exp(...)`; the null
     answer scores `sigmoid(min answer-class logit)` and wins only with a
     strictly higher score.

Requests `answer()` rejects with a ValueError (blank question or context, a
question leaving no room for context) get `("", 0, 0, 0.0)`: a server
cannot raise for one example of a batch.
"""

import tensorflow as tf

from kerabert.preprocessors.question_answerer_windows import question_answerer_windows
from kerabert.preprocessors.question_answerer_windows import sanitize_utf8

QUESTION = tf.TensorSpec([None], tf.string, name="question")
CONTEXT = tf.TensorSpec([None], tf.string, name="context")
BACKBONE_INPUTS = ("token_ids", "segment_ids", "padding_mask")
# `QAFeatures.trimmed`'s rounding of the window width.
TRIM_MULTIPLE = 32


def question_answerer_endpoints(task, tokenizer, decoder, settings, handle_impossible_answer,
                                align_to_words=True, batch_size=32):
    """`{"serving_default": (fn, input_signature)}`.

    Args:
      task: a `BertQuestionAnswerer` or `XLNetQuestionAnswerer`.
      tokenizer: its preprocessor's tokenizer.
      decoder: "pipeline" (BERT) or "beam" (XLNet).
      settings: `task.answer_settings(...)`.
      handle_impossible_answer, align_to_words: as in `answer()`.
      batch_size: windows per model call.
    """
    if decoder not in ("pipeline", "beam"):
        raise ValueError(f"decoder must be 'pipeline' or 'beam', got {decoder!r}.")

    def serving_default(question, context):
        # Offsets and answer texts then index the same characters.
        question, context = sanitize_utf8(question), sanitize_utf8(context)
        windows = question_answerer_windows(
            tokenizer, question, context, sequence_length=settings["max_seq_len"],
            doc_stride=settings["doc_stride"], max_query_length=settings["max_question_len"],
            stride_mode="overlap")
        examples = _Examples(context, windows, align_to_words)
        if decoder == "pipeline":
            return _decode_pipeline(task, windows, examples, settings["max_answer_len"],
                                    handle_impossible_answer, align_to_words, batch_size)
        return _decode_beam(task, windows, examples, settings["max_answer_len"],
                            handle_impossible_answer, batch_size)

    return {"serving_default": (serving_default, [QUESTION, CONTEXT])}


# --- running the model ------------------------------------------------------------


def _map_chunks(fn, inputs, chunk_size, output_specs):
    """`fn` over consecutive chunks of `chunk_size` rows of the dict `inputs`,
    outputs concatenated: the model sees `answer()`'s batches, and memory stays
    bounded however long a context is. Runs `fn` at least once (on zero rows
    for an empty batch), so every output has its shape.

    `output_specs`: `{name: (dtype, rank)}` of `fn`'s outputs."""
    rows = tf.shape(next(iter(inputs.values())))[0]
    chunks = tf.maximum((rows + chunk_size - 1) // chunk_size, 1)
    arrays = {k: tf.TensorArray(dtype, size=chunks, infer_shape=False)
              for k, (dtype, _) in output_specs.items()}

    def body(i, arrays):
        part = {k: v[i * chunk_size:(i + 1) * chunk_size] for k, v in inputs.items()}
        out = fn(part)
        return i + 1, {k: arrays[k].write(i, out[k]) for k in arrays}

    _, arrays = tf.while_loop(lambda i, _: i < chunks, body, (tf.constant(0), arrays))
    return {k: tf.ensure_shape(a.concat(), [None] * output_specs[k][1])
            for k, a in arrays.items()}


def _softmax64(logits):
    """`span_decoding._softmax` per row: float64 exp(x - max) / sum."""
    e = tf.exp(logits - tf.reduce_max(logits, axis=-1, keepdims=True))
    return e / tf.reduce_sum(e, axis=-1, keepdims=True)


def _bert_window_spans(task, max_answer_len, pre_top_k):
    """Per chunk of windows: the model, then each window's `pre_top_k` best
    spans, as `decode_pipeline` ranks them (span positions and scores)."""

    def run(chunk):
        logits = task({k: chunk[k] for k in BACKBONE_INPUTS}, training=False)
        width = tf.shape(chunk["token_ids"])[1]
        first = tf.range(width) == 0
        # [CLS] stays in the softmax for the null score.
        allowed = ((chunk["context_index"] >= 0) & (chunk["padding_mask"] > 0)) | first
        p_start, p_end = (
            _softmax64(tf.where(allowed, tf.cast(logits[name], tf.float64),
                                tf.constant(-10000.0, tf.float64)))
            for name in ("start_logits", "end_logits"))
        null = p_start[:, 0] * p_end[:, 0]
        p_start = tf.where(first, tf.constant(0.0, tf.float64), p_start)
        p_end = tf.where(first, tf.constant(0.0, tf.float64), p_end)
        # end >= start, at most max_answer_len tokens: np.triu / np.tril.
        spans = tf.linalg.band_part(p_start[:, :, None] * p_end[:, None, :], 0, max_answer_len - 1)
        flat = tf.reshape(spans, [tf.shape(spans)[0], -1])
        score, index = tf.math.top_k(flat, tf.minimum(pre_top_k, width * width))
        return {"score": score, "start": index // width, "end": index % width, "null": null}

    return run


def _decode_pipeline(task, windows, examples, max_answer_len, handle_impossible_answer,
                     align_to_words, batch_size):
    inputs = windows["inputs"]
    # `QAFeatures.trimmed`: no padding columns beyond the longest window.
    full = tf.shape(inputs["token_ids"])[1]
    longest = tf.reduce_max(tf.concat([tf.reduce_sum(inputs["padding_mask"], axis=1), [1]], 0))
    width = tf.minimum(full, (longest + TRIM_MULTIPLE - 1) // TRIM_MULTIPLE * TRIM_MULTIPLE)
    chunk_inputs = {k: inputs[k][:, :width] for k in BACKBONE_INPUTS}
    chunk_inputs["context_index"] = windows["context_index"][:, :width]
    pre_top_k = 1 * 2 + 10 if align_to_words else 1
    spans = _map_chunks(
        _bert_window_spans(task, max_answer_len, pre_top_k),
        chunk_inputs, batch_size,
        {"score": (tf.float64, 2), "start": (tf.int32, 2), "end": (tf.int32, 2),
         "null": (tf.float64, 1)})

    context_index = chunk_inputs["context_index"]
    first = tf.gather(context_index, spans["start"], batch_dims=1)
    last = tf.gather(context_index, spans["end"], batch_dims=1)
    keep = (first >= 0) & (last >= 0)
    example = tf.broadcast_to(windows["example_index"][:, None], tf.shape(first))
    # Candidates in `decode_pipeline`'s order: window by window, best first.
    example, first, last, score = (tf.boolean_mask(t, keep)
                                   for t in (example, first, last, spans["score"]))
    start, end = examples.char_span(example, first, last)
    text = examples.text(example, start, end)

    # Same lower-cased text in the same example: one answer, scores added, the
    # first candidate's text and offsets kept.
    key = tf.strings.as_string(example) + ":" + _lower(text)
    _, group = tf.unique(key, out_idx=tf.int64)
    groups = tf.reduce_max(tf.concat([group + 1, [0]], 0))
    group_score = tf.math.unsorted_segment_sum(score, group, groups)
    order = tf.range(tf.size(group, out_type=tf.int64))
    representative = tf.math.unsorted_segment_min(order, group, groups)
    group_example = tf.gather(example, representative)
    best_group, best_score, has_answer = _best_per_example(
        group_score, group_example, examples.count)
    best = _take(representative, best_group, has_answer, 0)
    best = _Answer(_take(text, best, has_answer, ""), _take(start, best, has_answer, 0),
                   _take(end, best, has_answer, 0), best_score, has_answer)
    null_score = None
    if handle_impossible_answer:
        null_score = tf.math.unsorted_segment_min(spans["null"], windows["example_index"],
                                                  examples.count)
    return _finish(best, null_score, windows["valid"])


def _decode_beam(task, windows, examples, max_answer_len, handle_impossible_answer, batch_size):
    inputs = windows["inputs"]
    k2 = task.span_head.end_n_top
    outputs = _map_chunks(lambda chunk: task(chunk, training=False), inputs, batch_size,
                          {"start_top_log_probs": (tf.float32, 2),
                           "start_top_index": (tf.int32, 2),
                           "end_top_log_probs": (tf.float32, 2),
                           "end_top_index": (tf.int32, 2), "cls_logits": (tf.float32, 1)})
    # Candidate i * k2 + j: the i-th start with its j-th end.
    start_position = tf.repeat(outputs["start_top_index"], k2, axis=1)
    end_position = outputs["end_top_index"]
    context_index = windows["context_index"]
    first = tf.gather(context_index, start_position, batch_dims=1)
    last = tf.gather(context_index, end_position, batch_dims=1)
    keep = ((first >= 0) & (last >= 0)
            & tf.gather(windows["max_context"], start_position, batch_dims=1)
            & (last >= first) & (last - first + 1 <= max_answer_len))
    score = (tf.cast(tf.repeat(outputs["start_top_log_probs"], k2, axis=1), tf.float64)
             + tf.cast(outputs["end_top_log_probs"], tf.float64))
    example = tf.broadcast_to(windows["example_index"][:, None], tf.shape(first))
    example, first, last, score = (tf.boolean_mask(t, keep) for t in (example, first, last, score))
    start, end = examples.char_span(example, first, last)
    # `answer()` keeps the answers with text; the best one, ties to the first
    # candidate (a stable sort by score), wins.
    nonempty = end > start
    example, start, end, score = (tf.boolean_mask(t, nonempty)
                                  for t in (example, start, end, score))
    best, best_score, has_answer = _best_per_example(score, example, examples.count)
    start, end = _take(start, best, has_answer, 0), _take(end, best, has_answer, 0)
    text = examples.text(tf.range(examples.count), start, end)
    best = _Answer(text, start, end, tf.exp(best_score), has_answer)
    null_score = None
    if handle_impossible_answer:
        smallest = tf.math.unsorted_segment_min(
            tf.cast(outputs["cls_logits"], tf.float64), windows["example_index"], examples.count)
        null_score = 1.0 / (1.0 + tf.exp(-smallest))
    return _finish(best, null_score, windows["valid"])


# --- decoding helpers ---------------------------------------------------------------


class _Examples:
    """Per-example lookups: context code points and the character span of a
    token span (snapped to whole words with `align_to_words`)."""

    def __init__(self, context, windows, align_to_words):
        self.count = tf.size(context, out_type=tf.int64)
        self.chars = tf.strings.unicode_decode(context, "UTF-8", errors="replace",
                                               replacement_char=0xFFFD)
        self.token_starts = windows["token_starts"]
        self.token_ends = windows["token_ends"]
        self.first_token = self.token_starts.row_starts()
        self.align_to_words = align_to_words
        if align_to_words:
            self.word_first, self.word_last = _word_bounds(windows["word_ids"])

    def char_span(self, example, first, last):
        """(M,) example and context-token indices -> (M,) int64 character
        start and end, `context[start:end]` being the span's text."""
        base = tf.gather(self.first_token, example)
        first, last = base + first, base + last
        if self.align_to_words:
            # The word's first and last token (`np.argmax(words == words[i])`).
            first, last = tf.gather(self.word_first, first), tf.gather(self.word_last, last)
        return (tf.gather(self.token_starts.flat_values, first),
                tf.gather(self.token_ends.flat_values, last))

    def text(self, example, start, end):
        """(M,) strings `context[start:end]` (Python slicing: "" if end <= start)."""
        size = tf.gather(self.chars.row_lengths(), example)
        start = tf.clip_by_value(start, 0, size)
        end = tf.clip_by_value(end, start, size)
        base = tf.gather(self.chars.row_starts(), example)
        pieces = tf.gather(self.chars.flat_values, tf.ragged.range(base + start, base + end))
        return tf.strings.unicode_encode(pieces, "UTF-8")


def _word_bounds(word_ids):
    """For every context token (flat over the batch), the flat index of the
    first and of the last token of its word. Word ids never decrease within
    an example, so a word's tokens are consecutive."""
    words = word_ids.flat_values
    index = tf.range(tf.size(words, out_type=tf.int64))
    row_start = tf.gather(word_ids.row_starts(), word_ids.value_rowids())
    previous = tf.concat([[-1], words[:-1]], 0)
    new_word = (index == row_start) | (words != previous)
    segment = tf.cumsum(tf.cast(new_word, tf.int64)) - 1
    segments = tf.reduce_max(tf.concat([segment + 1, [0]], 0))
    first = tf.math.unsorted_segment_min(index, segment, segments)
    last = tf.math.unsorted_segment_max(index, segment, segments)
    return tf.gather(first, segment), tf.gather(last, segment)


def _best_per_example(score, example, count):
    """Per example, the candidate with the highest score, ties to the first.

    Returns `(index, score, found)`, each (count,): the candidate's index
    (meaningless where not found), its score, whether the example has any."""
    best = tf.math.unsorted_segment_max(score, example, count)
    order = tf.range(tf.size(score, out_type=tf.int64))
    top = tf.where(score == tf.gather(best, example), order, tf.int64.max)
    index = tf.math.unsorted_segment_min(top, example, count)
    found = tf.math.unsorted_segment_sum(tf.ones_like(example), example, count) > 0
    return index, best, found


def _take(values, index, found, default):
    """`values[index]` where `found`, else `default` (`index` is then
    meaningless, possibly out of range, and `values` possibly empty)."""
    padded = tf.concat([values, tf.fill([1], tf.cast(default, values.dtype))], 0)
    return tf.gather(padded, tf.where(found, index, tf.size(values, out_type=index.dtype)))


class _Answer:
    def __init__(self, text, start, end, score, found):
        self.text, self.start, self.end, self.score, self.found = text, start, end, score, found


def _finish(best, null_score, valid):
    """The signature's outputs: the best answer, or the null answer where it
    scores strictly higher (or there is no answer), or ("", 0, 0, 0.0)."""
    zero = tf.zeros_like(best.start)
    found = best.found & valid
    if null_score is None:
        use_null = tf.zeros_like(found)
        null_score = tf.zeros_like(best.score)
    else:
        use_null = valid & (~best.found | (null_score > best.score))
    answer = found & ~use_null
    return {
        "answer": tf.where(answer, best.text, ""),
        "start": tf.where(answer, best.start, zero),
        "end": tf.where(answer, best.end, zero),
        "score": tf.cast(tf.where(answer, best.score, tf.where(use_null, null_score, 0.0)),
                         tf.float32),
    }


def _lower(text):
    """Lower-cased UTF-8 strings, for comparing answers case-insensitively.

    `tf.strings.lower` maps code point by code point and stops at a NUL (a C
    string), so the parts between NULs are lowered and joined back; Python's
    `str.lower` (which `decode_pipeline` uses) differs only in its
    context-dependent rules, e.g. a word-final capital sigma."""
    parts = tf.strings.split(text, "\x00")
    parts = tf.ragged.map_flat_values(
        lambda p: tf.strings.lower(p, encoding="utf-8") + tf.constant("\x00"), parts)
    joined = tf.strings.reduce_join(parts, axis=-1)
    length = tf.strings.length(joined)
    return tf.strings.substr(joined, tf.zeros_like(length), length - 1)
