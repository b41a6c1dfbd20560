"""The official SQuAD v1.1 and v2.0 scoring rules.

Answers are normalised (lower-case, punctuation removed, articles a/an/the
removed, whitespace collapsed) before exact match (EM) and token-level F1, and
each prediction takes the max over its gold answers. For v2.0 an unanswerable
question's gold answer list is [""], and the best-threshold search on the null
odds reports what EM/F1 would be if "" were predicted whenever the odds exceed a
threshold.
"""

import collections
import re
import string

_PUNCTUATION = set(string.punctuation)


def normalize_answer(text):
    text = text.lower()
    text = "".join(c for c in text if c not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _tokens(text):
    return normalize_answer(text).split() if text else []


def exact_match(prediction, gold):
    return int(normalize_answer(prediction) == normalize_answer(gold))


def f1(prediction, gold):
    predicted, expected = _tokens(prediction), _tokens(gold)
    if not predicted or not expected:
        # v2.0 rule: both empty is a match, one empty is not.
        return float(predicted == expected)
    common = collections.Counter(predicted) & collections.Counter(expected)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(predicted)
    recall = overlap / len(expected)
    return 2 * precision * recall / (precision + recall)


def _best_threshold(scores, null_odds, has_answer, predictions):
    """The v2.0 search: sweep thresholds over the sorted null odds."""
    num_no_answer = sum(1 for q in has_answer if not has_answer[q])
    current = best = num_no_answer
    best_threshold = 0.0
    for qid in sorted(null_odds, key=lambda q: null_odds[q]):
        if qid not in scores:
            continue
        if has_answer[qid]:
            diff = scores[qid]
        else:
            diff = -1 if predictions[qid] else 0
        current += diff
        if current > best:
            best, best_threshold = current, null_odds[qid]
    return 100.0 * best / len(scores), best_threshold


def evaluate_predictions(gold, predictions, null_odds=None):
    """Scores predictions.

    Args:
      gold: `{qid: list of gold answer texts}` ([""] or [] for unanswerable).
      predictions: `{qid: predicted text}`.
      null_odds: optional `{qid: float}` (v2.0) for the best-threshold search.
    Returns:
      dict with "exact_match", "f1", "total" and, when some questions are
      unanswerable, "HasAns_*", "NoAns_*" and with null odds "best_exact",
      "best_exact_thresh", "best_f1", "best_f1_thresh". Percentages.
    """
    em, f1s, has_answer = {}, {}, {}
    for qid, answers in gold.items():
        answers = [a for a in answers if normalize_answer(a)] or [""]
        has_answer[qid] = answers != [""]
        if qid not in predictions:
            continue
        predicted = predictions[qid]
        em[qid] = max(exact_match(predicted, a) for a in answers)
        f1s[qid] = max(f1(predicted, a) for a in answers)
    total = len(gold)
    result = {
        "exact_match": 100.0 * sum(em.values()) / total if total else 0.0,
        "f1": 100.0 * sum(f1s.values()) / total if total else 0.0,
        "total": total,
        "missing": sorted(set(gold) - set(predictions)),
    }
    # Questions without a prediction count as wrong (the v1.1 script's total);
    # the v2.0 script would leave them out of the denominator.
    is_v2 = not all(has_answer.values())
    for name, wanted in (("HasAns", True), ("NoAns", False)):
        qids = [q for q in gold if has_answer[q] == wanted]
        if is_v2 and qids:
            result[f"{name}_exact"] = 100.0 * sum(em.get(q, 0) for q in qids) / len(qids)
            result[f"{name}_f1"] = 100.0 * sum(f1s.get(q, 0) for q in qids) / len(qids)
            result[f"{name}_total"] = len(qids)
    if null_odds is not None:
        result["best_exact"], result["best_exact_thresh"] = _best_threshold(
            em, null_odds, has_answer, predictions)
        result["best_f1"], result["best_f1_thresh"] = _best_threshold(
            f1s, null_odds, has_answer, predictions)
    return result
