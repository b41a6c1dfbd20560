"""SQuAD v1.1 / v2.0 files: reading, scoring and the reference's output files.

`kerabert.squad.load(path)` returns a `SquadData` (a list of `SquadExample`) that
`BertQuestionAnswerer.fit` / `predict_squad` accept; `kerabert.squad.evaluate`
applies the official scoring rules (`kerabert.metrics.squad_metrics`).
"""

import dataclasses
import json
import os

from kerabert.metrics import squad_metrics
from kerabert.presets import files


class SquadFormatError(ValueError):
    """A SQuAD file that does not follow the format; the message names the question."""


@dataclasses.dataclass
class SquadExample:
    """One question about one context.

    `answer_start` / `answer_text` are the first gold answer (training target);
    `answers` keeps every gold answer text (evaluation). For an unanswerable
    (v2.0) question `is_impossible` is True, `answer_text` is "" and
    `answer_start` is -1. Offsets are character offsets into `context`.
    """

    qid: str
    question: str
    context: str
    answer_text: str = ""
    answer_start: int = -1
    answers: list = dataclasses.field(default_factory=list)
    is_impossible: bool = False


class SquadData(list):
    """A list of `SquadExample`s with the file's version ("1.1" or "2.0")."""

    def __init__(self, examples, version):
        super().__init__(examples)
        self.version = version

    @property
    def gold(self):
        return {e.qid: list(e.answers) for e in self}


def load(path_or_json, version=None):
    """Reads a SQuAD JSON file (or an already parsed dict).

    Raises `SquadFormatError` naming the question id and the problem for any
    malformed entry: a missing field, an answer whose offset does not point at
    its text in the context, an answerable question without answers.
    """
    if isinstance(path_or_json, dict):
        data, source = path_or_json, "<dict>"
    else:
        source = os.fspath(path_or_json)
        if not files.exists(source) or files.isdir(source):
            raise FileNotFoundError(f"SQuAD file not found: {source}")
        try:
            with files.open_file(source) as f:  # local, gs://, ram://
                data = json.load(f)
        except json.JSONDecodeError as error:
            raise SquadFormatError(f"{source} is not valid JSON: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise SquadFormatError(f"{source}: expected a JSON object with a 'data' list "
                               "(the SQuAD format).")
    examples = []
    has_impossible = False
    for a, article in enumerate(data["data"]):
        for p, paragraph in enumerate(_field(article, "paragraphs", f"data[{a}]", source)):
            where = f"data[{a}].paragraphs[{p}]"
            context = _field(paragraph, "context", where, source)
            for q, qa in enumerate(_field(paragraph, "qas", where, source)):
                qid = str(qa.get("id", f"{where}.qas[{q}]"))
                question = _field(qa, "question", f"question {qid}", source)
                if not isinstance(question, str) or not question.strip():
                    raise SquadFormatError(f"{source}: question {qid} has an empty question.")
                impossible = bool(qa.get("is_impossible", False))
                has_impossible |= impossible
                answers = _field(qa, "answers", f"question {qid}", source)
                texts = []
                for answer in answers:
                    text = _field(answer, "text", f"an answer of question {qid}", source)
                    start = _field(answer, "answer_start", f"an answer of question {qid}", source)
                    if context[start:start + len(text)] != text:
                        raise SquadFormatError(
                            f"{source}: question {qid}: answer {text!r} is not at offset "
                            f"{start} of its context (found {context[start:start + len(text)]!r}).")
                    texts.append(text)
                if not impossible and not answers:
                    raise SquadFormatError(
                        f"{source}: question {qid} has no answers and is not marked "
                        "is_impossible.")
                first = answers[0] if answers and not impossible else None
                examples.append(SquadExample(
                    qid=qid, question=question, context=context,
                    answer_text=first["text"] if first else "",
                    answer_start=first["answer_start"] if first else -1,
                    answers=texts if not impossible else [],
                    is_impossible=impossible))
    if version is None:
        version = "2.0" if has_impossible or str(data.get("version", "")).startswith("v2") else "1.1"
    return SquadData(examples, version)


def _field(obj, key, where, source):
    if not isinstance(obj, dict) or key not in obj:
        raise SquadFormatError(f"{source}: {where} lacks the field {key!r}.")
    return obj[key]


def evaluate(dataset, predictions, null_odds=None):
    """Official SQuAD EM / F1 of `predictions` (`{qid: text}`) on `dataset`
    (a path, a parsed dict or a `SquadData`). See `squad_metrics.evaluate_predictions`."""
    if not isinstance(dataset, SquadData):
        dataset = load(dataset)
    return squad_metrics.evaluate_predictions(dataset.gold, predictions, null_odds)


def write_predictions(output_dir, predictions, nbest=None, null_odds=None):
    """Writes the reference's `predictions.json`, `nbest_predictions.json` and
    (v2.0) `null_odds.json`, indented by 4 as the reference does. Each is
    written beside its name and renamed into place (`output_dir` may be
    `gs://...`)."""
    import tensorflow as tf

    tf.io.gfile.makedirs(os.fspath(output_dir))
    outputs = {"predictions.json": predictions}
    if nbest is not None:
        outputs["nbest_predictions.json"] = nbest
    if null_odds is not None:
        outputs["null_odds.json"] = null_odds
    for name, content in outputs.items():
        tmp = os.path.join(output_dir, name + ".tmp")
        with files.open_file(tmp, "w") as f:
            f.write(json.dumps(content, indent=4, ensure_ascii=False))
        files.replace(tmp, os.path.join(output_dir, name))
    return [os.path.join(output_dir, n) for n in outputs]
