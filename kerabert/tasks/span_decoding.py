"""Turning start/end logits of windows into answers.

Two decoders, because the two conventions users know disagree:

- `decode_reference`: the BERT reference `write_predictions` (`squad_lib.py`),
  used for SQuAD evaluation: top-n start and end logits per window, spans in the
  context only, in the token's max-context window, end >= start, at most
  `max_answer_length` tokens, ranked by `start_logit + end_logit`, de-duplicated
  by text; v2.0 null answer when `null_score - best_non_null > threshold`.
- `decode_pipeline`: the Hugging Face question-answering pipeline
  (transformers 4.57): per window, softmax of start and of end over context
  tokens + [CLS], score = p_start * p_end, answers snapped to whole words,
  identical answers from different windows add their scores, and the null
  answer scored by the smallest [CLS] product over windows.

Answer text is always `context[start:end]` through the tokenizer's character
offsets, never a detokenised and re-aligned string.
"""

import collections

import numpy as np


def _softmax(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max())
    return e / e.sum()


def decode_reference(features, start_logits, end_logits, contexts, n_best_size=20,
                     max_answer_length=30, version_2_with_negative=False,
                     null_score_diff_threshold=0.0):
    """Returns `(predictions, nbest, null_odds)` keyed by example index."""
    by_example = collections.defaultdict(list)
    for f, example in enumerate(features.example_index):
        by_example[int(example)].append(f)
    predictions, all_nbest, null_odds = {}, {}, {}
    for example, windows in by_example.items():
        context = contexts[example]
        starts, ends = features.token_starts[example], features.token_ends[example]
        candidates = []
        score_null, null_start, null_end = None, 0.0, 0.0
        for f in windows:
            s_logits, e_logits = start_logits[f], end_logits[f]
            if version_2_with_negative:
                null = s_logits[0] + e_logits[0]
                if score_null is None or null < score_null:
                    score_null, null_start, null_end = null, s_logits[0], e_logits[0]
            index = features.context_index[f]
            best_starts = np.argsort(-s_logits, kind="stable")[:n_best_size]
            best_ends = np.argsort(-e_logits, kind="stable")[:n_best_size]
            for s in best_starts:
                if index[s] < 0 or not features.max_context[f][s]:
                    continue
                for e in best_ends:
                    if index[e] < 0 or e < s or e - s + 1 > max_answer_length:
                        continue
                    candidates.append((s_logits[s] + e_logits[e], s_logits[s], e_logits[e],
                                       index[s], index[e]))
        if version_2_with_negative:
            candidates.append((null_start + null_end, null_start, null_end, -1, -1))
        candidates.sort(key=lambda c: -c[0])
        nbest, seen = [], set()
        for _, s_logit, e_logit, first, last in candidates:
            if len(nbest) >= n_best_size:
                break
            if first < 0:
                text, char_start, char_end = "", -1, -1
            else:
                char_start, char_end = int(starts[first]), int(ends[last])
                text = context[char_start:char_end]
            if text in seen:
                continue
            seen.add(text)
            nbest.append({"text": text, "start_logit": float(s_logit), "end_logit": float(e_logit),
                          "start": char_start, "end": char_end})
        if version_2_with_negative and "" not in seen:
            nbest.append({"text": "", "start_logit": float(null_start),
                          "end_logit": float(null_end), "start": -1, "end": -1})
        if not nbest:
            nbest.append({"text": "empty", "start_logit": 0.0, "end_logit": 0.0,
                          "start": -1, "end": -1})
        probabilities = _softmax([n["start_logit"] + n["end_logit"] for n in nbest])
        for entry, p in zip(nbest, probabilities):
            entry["probability"] = float(p)
        all_nbest[example] = nbest
        if not version_2_with_negative:
            predictions[example] = nbest[0]["text"]
            continue
        non_null = next((n for n in nbest if n["text"]), None)
        best_score = non_null["start_logit"] + non_null["end_logit"] if non_null else -np.inf
        score_diff = float(score_null - best_score)
        null_odds[example] = score_diff
        predictions[example] = "" if score_diff > null_score_diff_threshold or non_null is None \
            else non_null["text"]
    return predictions, all_nbest, null_odds


def decode_pipeline(features, start_logits, end_logits, contexts, top_k=1, max_answer_len=15,
                    handle_impossible_answer=False, align_to_words=True):
    """Returns, per example index, a list of answer dicts
    `{"score", "start", "end", "answer"}` sorted by score (at most `top_k`)."""
    by_example = collections.defaultdict(list)
    for f, example in enumerate(features.example_index):
        by_example[int(example)].append(f)
    results = {}
    pre_top_k = top_k * 2 + 10 if align_to_words else top_k
    for example, windows in by_example.items():
        context = contexts[example]
        starts, ends = features.token_starts[example], features.token_ends[example]
        words = features.word_ids[example]
        answers = []
        min_null_score = 1000000.0
        for f in windows:
            index = features.context_index[f]
            allowed = (index >= 0) & (features.inputs["padding_mask"][f] > 0)
            allowed[0] = True  # [CLS] stays for the null score
            p_start = _softmax(np.where(allowed, start_logits[f], -10000.0))
            p_end = _softmax(np.where(allowed, end_logits[f], -10000.0))
            if handle_impossible_answer:
                min_null_score = min(min_null_score, float(p_start[0] * p_end[0]))
            p_start[0] = p_end[0] = 0.0
            outer = np.triu(np.outer(p_start, p_end))
            outer = np.tril(outer, max_answer_len - 1)
            flat = outer.ravel()
            if pre_top_k == 1:
                order = [int(np.argmax(flat))]
            elif len(flat) < pre_top_k:
                order = np.argsort(-flat)
            else:
                top = np.argpartition(-flat, pre_top_k)[:pre_top_k]
                order = top[np.argsort(-flat[top])]
            s_idx, e_idx = np.unravel_index(order, outer.shape)
            keep = (index[s_idx] >= 0) & (index[e_idx] >= 0)
            for s, e in zip(s_idx[keep], e_idx[keep]):
                first, last = index[s], index[e]
                if align_to_words:
                    first = int(np.argmax(words == words[first]))
                    last = int(len(words) - 1 - np.argmax(words[::-1] == words[last]))
                char_start, char_end = int(starts[first]), int(ends[last])
                text = context[char_start:char_end]
                score = float(outer[s, e])
                same = next((a for a in answers if a["answer"].lower() == text.lower()), None)
                if same is not None:
                    same["score"] += score
                else:
                    answers.append({"score": score, "start": char_start, "end": char_end,
                                    "answer": text})
        if handle_impossible_answer:
            answers.append({"score": min_null_score, "start": 0, "end": 0, "answer": ""})
        results[example] = sorted(answers, key=lambda a: -a["score"])[:top_k]
    return results


def decode_beam(features, outputs, contexts, n_best_size=20, max_answer_length=30,
                align_to_words=False):
    """XLNet's post-processing of beam outputs (the reference `squad_utils.py`
    `write_predictions`), per example.

    `outputs` holds the `XLNetSpanHead` arrays, one row per window. Candidate
    (i, j) is the i-th best start with its j-th best end (`end_top_index[i *
    end_n_top + j]`); it is kept when both ends are context tokens, the start
    has its maximum context in this window, end >= start and the answer spans at
    most `max_answer_length` tokens; it scores `start_log_prob + end_log_prob`.
    Texts are exact slices of the original context (character offsets from the
    tokenizer, which replaces the reference's LCS alignment). The reference
    also rejects the *last* paragraph token of each window (`>= paragraph_len -
    1`), an off-by-one that makes some answers impossible; kerabert allows it.

    Returns `(nbest, null_scores)`: per example index a list of
    `{"text", "start", "end", "start_log_prob", "end_log_prob", "score"}` sorted
    by score (at most `n_best_size`, de-duplicated by text), and the example's
    `score_null`: the minimum answer-class logit over its windows (higher =
    more likely unanswerable).
    """
    by_example = collections.defaultdict(list)
    for f, example in enumerate(features.example_index):
        by_example[int(example)].append(f)
    start_lp, start_idx = outputs["start_top_log_probs"], outputs["start_top_index"]
    end_lp, end_idx = outputs["end_top_log_probs"], outputs["end_top_index"]
    k1 = start_idx.shape[1]
    k2 = end_idx.shape[1] // k1
    nbest, null_scores = {}, {}
    for example, windows in by_example.items():
        context = contexts[example]
        starts, ends = features.token_starts[example], features.token_ends[example]
        words = features.word_ids[example]
        candidates = []
        for f in windows:
            index = features.context_index[f]
            for i in range(k1):
                s = int(start_idx[f, i])
                for j in range(k2):
                    e = int(end_idx[f, i * k2 + j])
                    if index[s] < 0 or index[e] < 0 or not features.max_context[f, s]:
                        continue
                    first, last = int(index[s]), int(index[e])
                    if last < first or last - first + 1 > max_answer_length:
                        continue
                    candidates.append((float(start_lp[f, i]) + float(end_lp[f, i * k2 + j]),
                                       float(start_lp[f, i]), float(end_lp[f, i * k2 + j]),
                                       first, last))
        null_scores[example] = float(np.min(outputs["cls_logits"][windows]))
        entries, seen = [], set()
        for score, s_lp, e_lp, first, last in sorted(candidates, key=lambda c: -c[0]):
            if align_to_words:
                first = int(np.argmax(words == words[first]))
                last = int(len(words) - 1 - np.argmax(words[::-1] == words[last]))
            char_start, char_end = int(starts[first]), int(ends[last])
            text = context[char_start:char_end]
            if text in seen:
                continue
            seen.add(text)
            entries.append({"text": text, "start": char_start, "end": char_end,
                            "start_log_prob": s_lp, "end_log_prob": e_lp, "score": score})
            if len(entries) == n_best_size:
                break
        if not entries:
            entries.append({"text": "", "start": 0, "end": 0, "start_log_prob": -1e6,
                            "end_log_prob": -1e6, "score": -2e6})
        nbest[example] = entries
    return nbest, null_scores
