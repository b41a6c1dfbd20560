"""GLUE and the other classification sets BERT and XLNet were fine-tuned on:
reading the files as downloaded, scoring, and GLUE submission files.

    data = kerabert.glue.load("mrpc", "glue_data/MRPC", "train")
    classifier.fit(data.x, data.y, epochs=3)
    dev = kerabert.glue.load("mrpc", "glue_data/MRPC", "dev")
    kerabert.glue.evaluate("mrpc", dev.y, classifier.predict(dev.x))
    # -> {"accuracy": 0.84..., "f1": 0.88...}
    test = kerabert.glue.load("mrpc", "glue_data/MRPC", "test")
    kerabert.glue.write_submission(
        "mrpc", test.ids, classifier.predict(test.x),
        "submission/" + kerabert.glue.submission_filename("mrpc"))

`data.x` is a list of str (single-sentence tasks) or a tuple `(list_a, list_b)`
(pair tasks), which a kerabert classifier with a preprocessor takes as is;
`data.y` is an int32 numpy array of class ids (float32 scores for STS-B, None for
unlabelled test files).

Folder layouts (`data_dir`)
---------------------------
GLUE, as GLUE's `download_glue_data.py` writes it: `data_dir` is the task's
folder, e.g. `glue_data/MRPC`, holding `train.tsv`, `dev.tsv` and `test.tsv`.
MNLI has `dev_matched.tsv`, `dev_mismatched.tsv`, `test_matched.tsv` and
`test_mismatched.tsv` instead of `dev.tsv` / `test.tsv`. The diagnostic set AX
is `glue_data/diagnostic/diagnostic.tsv` (the download script's name) or
`AX.tsv` (the file's name on the GLUE site); only its "test" split exists.

XNLI: `data_dir` holds `xnli.dev.tsv` and `xnli.test.tsv` (from XNLI-1.0.zip)
and `multinli/multinli.train.<language>.tsv` (from XNLI-MT-1.0.zip), the layout
the BERT reference reads. IMDB: `data_dir` is the `aclImdb` folder
(`{train,test}/{neg,pos}/*.txt`). Yelp-5: `data_dir` is the
`yelp_review_full_csv` folder (`train.csv`, `test.csv`).

Everything is read through `tf.io.gfile`, so `gs://...` and `ram://...` paths
work like local ones.

Tasks (`TASKS`; names are case-insensitive, "-" and "_" are ignored)
---------------------------------------------------------------------
    task    input   labels (class id order)                     metrics
    CoLA    single  "0", "1"                                    matthews_corr
    SST-2   single  "0", "1"                                    accuracy
    MRPC    pair    "0", "1"                                    accuracy, f1
    STS-B   pair    none: float scores 0..5                     pearson, spearman
    QQP     pair    "0", "1"                                    accuracy, f1
    MNLI    pair    contradiction, entailment, neutral          accuracy
    QNLI    pair    entailment, not_entailment                  accuracy
    RTE     pair    entailment, not_entailment                  accuracy
    WNLI    pair    "0", "1"                                    accuracy
    AX      pair    contradiction, entailment, neutral          matthews_corr
    XNLI    pair    contradiction, entailment, neutral          accuracy
    IMDB    single  neg, pos                                    accuracy
    Yelp5   single  "1" .. "5"                                  accuracy

The label orders are the reference processors' `get_labels()`, so class ids
match checkpoints fine-tuned with the reference scripts. f1 is the F1 of class
1 ("1" = paraphrase / duplicate), as GLUE reports it. AX is scored by GLUE with
the (3-class) Matthews correlation, R3.
"""

import csv
import dataclasses
import os
import re
import warnings

import numpy as np
import tensorflow as tf

from kerabert.metrics.glue_metrics import accuracy
from kerabert.metrics.glue_metrics import average_ranks  # noqa: F401 - public here too
from kerabert.metrics.glue_metrics import f1
from kerabert.metrics.glue_metrics import matthews_corr
from kerabert.metrics.glue_metrics import pearson
from kerabert.metrics.glue_metrics import spearman
from kerabert.presets import files


class GlueFormatError(ValueError):
    """A data file that does not read as its task's format; the message names
    the file, the line and what to check."""


# --- the task table -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SplitSpec:
    """Where one split is and how its file is laid out.

    files: candidate paths relative to `data_dir`; the first that exists is
      read. "{language}" is replaced by `load`'s `language`.
    labelled: whether the file must have labels (GLUE test files have none; a
      test file that has the label column is still read with its labels).
    header: whether the first line names the columns. Columns are found by
      name (`columns`) when there is a header, by `positions` otherwise.
    width: number of fields of a header-less file.
    columns: role -> accepted header names; overrides the task's.
    label_aliases: label spellings mapped to the task's names.
    """

    files: tuple
    labelled: bool = True
    header: bool = True
    positions: dict = None
    width: int = None
    columns: dict = None
    label_aliases: dict = None


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """One task: its files, columns, labels and metrics.

    name: canonical name ("MRPC", "STS-B", ...).
    pair: True for sentence-pair tasks (`x` is a tuple of two lists).
    label_names: class names in class-id order; None for STS-B (regression).
    metrics: the keys `evaluate` returns, in GLUE's order.
    splits: split name -> `SplitSpec`.
    split_aliases: other accepted split names -> split name.
    columns: role ("text_a", "text_b", "label", "id", "language") -> accepted
      header names, for TSV files with a header.
    reader: "tsv", "imdb" (folders of .txt files) or "yelp" (CSV).
    layout: what `data_dir` must hold, for error messages.
    submission_files: split -> the file name the GLUE server expects.
    aliases: other accepted task names.
    """

    name: str
    pair: bool
    label_names: tuple
    metrics: tuple
    splits: dict
    split_aliases: dict = dataclasses.field(default_factory=dict)
    columns: dict = dataclasses.field(default_factory=dict)
    reader: str = "tsv"
    layout: str = ""
    submission_files: dict = dataclasses.field(default_factory=dict)
    aliases: tuple = ()

    @property
    def is_regression(self):
        return self.label_names is None

    @property
    def num_labels(self):
        """Outputs a model needs: the number of classes, 1 for regression (the
        reference meta data's `num_labels` for STS-B is len([0.0]) = 1)."""
        return 1 if self.label_names is None else len(self.label_names)


BINARY = ("0", "1")
NLI = ("contradiction", "entailment", "neutral")
NOT_ENTAILMENT = ("entailment", "not_entailment")
XNLI_LANGUAGES = ("ar", "bg", "de", "el", "en", "es", "fr", "hi", "ru", "sw", "th",
                  "tr", "ur", "vi", "zh")

_GLUE_LAYOUT = ("GLUE's download_glue_data.py layout: data_dir is the task's folder, "
                "e.g. glue_data/{folder}, holding {files}")


def _glue_task(name, pair, label_names, metrics, text_a, text_b=None, label="label",
               id_column="index", folder=None, **overrides):
    """A GLUE task with train.tsv / dev.tsv / test.tsv, all with a header."""
    columns = {"text_a": (text_a,), "label": (label,), "id": (id_column,)}
    if text_b is not None:
        columns["text_b"] = (text_b,)
    splits = {"train": SplitSpec(("train.tsv",)), "dev": SplitSpec(("dev.tsv",)),
              "test": SplitSpec(("test.tsv",), labelled=False)}
    spec = dict(name=name, pair=pair, label_names=label_names, metrics=metrics,
                splits=splits, columns=columns, submission_files={"test": f"{name}.tsv"},
                layout=_GLUE_LAYOUT.format(folder=folder or name,
                                           files="train.tsv, dev.tsv and test.tsv"))
    spec.update(overrides)
    return TaskSpec(**spec)


_TASK_LIST = [
    # CoLA train/dev have no header; their columns are the sentence's source,
    # the label, the original author's acceptability mark (often empty) and the
    # sentence. test.tsv has a header ("index", "sentence").
    _glue_task("CoLA", False, BINARY, ("matthews_corr",), "sentence", splits={
        "train": SplitSpec(("train.tsv",), header=False, width=4,
                           positions={"label": 1, "text_a": 3}),
        "dev": SplitSpec(("dev.tsv",), header=False, width=4,
                         positions={"label": 1, "text_a": 3}),
        "test": SplitSpec(("test.tsv",), labelled=False)}),
    _glue_task("SST-2", False, BINARY, ("accuracy",), "sentence"),
    # Columns "Quality  #1 ID  #2 ID  #1 String  #2 String"; the sentences hold
    # literal quotes (the files are not CSV-quoted), and train/dev start with
    # the UTF-8 byte order mark of Microsoft's original file.
    _glue_task("MRPC", True, BINARY, ("accuracy", "f1"), "#1 String", "#2 String",
               label="Quality"),
    _glue_task("STS-B", True, None, ("pearson", "spearman"), "sentence1", "sentence2",
               label="score", aliases=("sts",)),
    # The GLUE QQP train/dev files have a few lines with a wrong number of
    # fields (a question broken over two lines); they are skipped and counted.
    _glue_task("QQP", True, BINARY, ("accuracy", "f1"), "question1", "question2",
               label="is_duplicate", id_column="id"),
    # train.tsv has 12 columns, dev_*.tsv 16 (five annotator labels), test_*.tsv
    # 10 (no labels); "gold_label" is the last column where there are labels.
    TaskSpec(
        name="MNLI", pair=True, label_names=NLI, metrics=("accuracy",),
        columns={"text_a": ("sentence1",), "text_b": ("sentence2",),
                 "label": ("gold_label",), "id": ("index",)},
        splits={"train": SplitSpec(("train.tsv",)),
                "dev_matched": SplitSpec(("dev_matched.tsv",)),
                "dev_mismatched": SplitSpec(("dev_mismatched.tsv",)),
                "test_matched": SplitSpec(("test_matched.tsv",), labelled=False),
                "test_mismatched": SplitSpec(("test_mismatched.tsv",), labelled=False)},
        split_aliases={"dev": "dev_matched", "test": "test_matched"},
        submission_files={"test_matched": "MNLI-m.tsv", "test_mismatched": "MNLI-mm.tsv"},
        layout=_GLUE_LAYOUT.format(
            folder="MNLI", files="train.tsv, dev_matched.tsv, dev_mismatched.tsv, "
            "test_matched.tsv and test_mismatched.tsv"),
        aliases=("multinli",)),
    # Some QNLI versions have incomplete lines; they are skipped and counted
    # (the XLNet reference skips them too).
    _glue_task("QNLI", True, NOT_ENTAILMENT, ("accuracy",), "question", "sentence"),
    _glue_task("RTE", True, NOT_ENTAILMENT, ("accuracy",), "sentence1", "sentence2"),
    _glue_task("WNLI", True, BINARY, ("accuracy",), "sentence1", "sentence2"),
    TaskSpec(
        name="AX", pair=True, label_names=NLI, metrics=("matthews_corr",),
        columns={"text_a": ("sentence1",), "text_b": ("sentence2",),
                 "label": ("label",), "id": ("index",)},
        splits={"test": SplitSpec(("diagnostic.tsv", "AX.tsv"), labelled=False)},
        submission_files={"test": "AX.tsv"},
        layout="GLUE's download_glue_data.py layout: data_dir is glue_data/diagnostic, "
               "holding diagnostic.tsv (AX.tsv, its name on the GLUE site, is read too)",
        aliases=("diagnostic",)),
    # dev/test hold all 15 languages; `language` picks one. The machine-
    # translated MultiNLI train file has its own header (premise, hypo, label)
    # and spells one label "contradictory"; the reference's XNLI train reader
    # maps it to "contradiction".
    TaskSpec(
        name="XNLI", pair=True, label_names=NLI, metrics=("accuracy",),
        columns={"text_a": ("sentence1",), "text_b": ("sentence2",),
                 "label": ("gold_label",), "id": ("pairID",), "language": ("language",)},
        splits={"train": SplitSpec(
                    ("multinli/multinli.train.{language}.tsv",
                     "XNLI-MT-1.0/multinli/multinli.train.{language}.tsv"),
                    columns={"text_a": ("premise",), "text_b": ("hypo",),
                             "label": ("label",)},
                    label_aliases={"contradictory": "contradiction"}),
                "dev": SplitSpec(("xnli.dev.tsv", "XNLI-1.0/xnli.dev.tsv")),
                "test": SplitSpec(("xnli.test.tsv", "XNLI-1.0/xnli.test.tsv"))},
        layout="the BERT reference's XNLI layout: data_dir holds xnli.dev.tsv and "
               "xnli.test.tsv (XNLI-1.0.zip) and multinli/multinli.train.<language>.tsv "
               "(XNLI-MT-1.0.zip)"),
    # The reference evaluates IMDB and Yelp-5 on their test sets ("dev" reads
    # test/ and test.csv).
    TaskSpec(
        name="IMDB", pair=False, label_names=("neg", "pos"), metrics=("accuracy",),
        reader="imdb",
        splits={"train": SplitSpec(("train", "aclImdb/train")),
                "test": SplitSpec(("test", "aclImdb/test"))},
        split_aliases={"dev": "test"},
        layout="the aclImdb layout: data_dir is the aclImdb folder, holding "
               "train/neg, train/pos, test/neg and test/pos with one review per .txt file"),
    TaskSpec(
        name="Yelp5", pair=False, label_names=("1", "2", "3", "4", "5"),
        metrics=("accuracy",), reader="yelp",
        splits={"train": SplitSpec(("train.csv", "yelp_review_full_csv/train.csv")),
                "test": SplitSpec(("test.csv", "yelp_review_full_csv/test.csv"))},
        split_aliases={"dev": "test"},
        layout="the yelp_review_full_csv layout: data_dir holds train.csv and test.csv "
               "(label 1..5, review text)",
        aliases=("yelp", "yelpreviewfull")),
]

TASKS = {spec.name: spec for spec in _TASK_LIST}


def _key(name):
    return re.sub(r"[-_\s]", "", str(name).lower())


_LOOKUP = {}
for _spec in _TASK_LIST:
    for _name in (_spec.name,) + _spec.aliases:
        _LOOKUP[_key(_name)] = _spec


def get_task(task):
    """The `TaskSpec` of `task` ("mrpc", "MRPC", "sts-b", "stsb", "sst2", ...);
    a `TaskSpec` is returned as is."""
    if isinstance(task, TaskSpec):
        return task
    spec = _LOOKUP.get(_key(task))
    if spec is None:
        raise ValueError(f"Unknown task {task!r}. Valid tasks: {', '.join(TASKS)} "
                         "(case-insensitive; '-' and '_' are ignored).")
    return spec


def _resolve_split(spec, split):
    name = str(split).lower()
    name = spec.split_aliases.get(name, name)
    if name not in spec.splits:
        valid = list(spec.splits) + [f"{a} (= {b})" for a, b in spec.split_aliases.items()]
        raise ValueError(f"Unknown split {split!r} for {spec.name}. Valid splits: "
                         f"{', '.join(valid)}.")
    return name


def submission_filename(task, split="test"):
    """The file name the GLUE server expects for `task`'s test predictions:
    "CoLA.tsv", "SST-2.tsv", "MRPC.tsv", "STS-B.tsv", "QQP.tsv", "MNLI-m.tsv"
    (split "test_matched" or "test"), "MNLI-mm.tsv" ("test_mismatched"),
    "QNLI.tsv", "RTE.tsv", "WNLI.tsv", "AX.tsv". The server wants all eleven
    files in one zip."""
    spec = get_task(task)
    if not spec.submission_files:
        raise ValueError(f"{spec.name} is not a GLUE task; the GLUE server takes "
                         f"{', '.join(n for n, s in TASKS.items() if s.submission_files)}.")
    name = _resolve_split(spec, split)
    if name not in spec.submission_files:
        raise ValueError(f"The GLUE server takes {spec.name} predictions for the split(s) "
                         f"{', '.join(spec.submission_files)}, not {split!r}.")
    return spec.submission_files[name]


# --- loaded data ------------------------------------------------------------------


@dataclasses.dataclass(repr=False)
class GlueData:
    """One split of a task.

    task: canonical task name ("MRPC").
    split: split name after aliases ("dev_matched" for MNLI "dev").
    x: list of N str (single-sentence tasks) or a tuple `(list_a, list_b)` of
      two lists of N str (pair tasks); `fit` / `predict` take it as is.
    y: (N,) int32 class ids in `label_names` order; (N,) float32 scores for
      STS-B; None when the file has no labels (GLUE test files).
    ids: N str: the file's id column ("index", "id"; XNLI "pairID") where it has
      one, which is what the GLUE server matches predictions on; otherwise the
      example's 0-based row number in the file (IMDB: "neg/123_4.txt").
    label_names: class names in class-id order; None for STS-B (regression,
      no classes).
    skipped: number of malformed lines left out (see `skipped_lines`).
    skipped_lines: their 1-based line numbers in `path`.
    path: the file (or, for IMDB, the folder) that was read.
    """

    task: str
    split: str
    x: object
    y: object
    ids: list
    label_names: list
    skipped: int = 0
    skipped_lines: list = dataclasses.field(default_factory=list)
    path: str = ""

    def __len__(self):
        return len(self.ids)

    @property
    def num_labels(self):
        """Number of classes (1 for STS-B): a classifier's `num_classes`."""
        return 1 if self.label_names is None else len(self.label_names)

    def head(self, count):
        """The first `count` examples, as a `GlueData` of their own."""
        x = (tuple(column[:count] for column in self.x) if isinstance(self.x, tuple)
             else self.x[:count])
        return dataclasses.replace(self, x=x, ids=self.ids[:count],
                                   y=None if self.y is None else self.y[:count])

    def __repr__(self):
        labels = "unlabelled" if self.y is None else f"labels {self.label_names or 'scores'}"
        skipped = f", {self.skipped} malformed lines skipped" if self.skipped else ""
        return (f"GlueData({self.task} {self.split}: {len(self)} examples, {labels}"
                f"{skipped}, from {self.path})")


# --- reading ----------------------------------------------------------------------


def load(task, data_dir, split, *, language=None, literal_newline=None):
    """Reads one split of a task from the files as downloaded.

    Args:
      task: a name from `TASKS` (case-insensitive; "sts-b" = "stsb").
      data_dir: the task's folder (see the module docstring for each layout);
        local, `gs://` or `ram://`.
      split: "train", "dev" or "test"; MNLI also "dev_matched",
        "dev_mismatched", "test_matched", "test_mismatched" ("dev" and "test"
        mean matched). IMDB / Yelp-5 "dev" is their test set, as in the XLNet
        reference.
      language: XNLI only, required: one of `XNLI_LANGUAGES` ("zh", ...).
      literal_newline: Yelp-5 only. The reviews spell line breaks as the two
        characters backslash and "n"; None keeps them (the XLNet reference
        does), a str (e.g. " " or "\\n") replaces each of them.
    Returns:
      `GlueData`. Lines with the wrong number of fields are skipped, counted in
      `.skipped` and reported with one `warnings.warn` per file.
    Raises:
      ValueError for an unknown task, split or option; FileNotFoundError when
      the split's file is missing; `GlueFormatError` for a file that does not
      read as the task's (missing column, unknown label, bad score, not UTF-8).
    """
    spec = get_task(task)
    split = _resolve_split(spec, split)
    if language is not None and spec.name != "XNLI":
        raise ValueError(f"language= only applies to XNLI, not {spec.name}.")
    if spec.name == "XNLI":
        if language is None:
            raise ValueError("XNLI needs language=, one of " + ", ".join(XNLI_LANGUAGES) + ".")
        if language not in XNLI_LANGUAGES:
            raise ValueError(f"Unknown XNLI language {language!r}; XNLI has "
                             + ", ".join(XNLI_LANGUAGES) + ".")
    if literal_newline is not None and spec.reader != "yelp":
        raise ValueError(f"literal_newline= only applies to Yelp5, not {spec.name}.")
    data_dir = os.fspath(data_dir)
    split_spec = spec.splits[split]
    path = _find(spec, split, split_spec, data_dir, language)
    if spec.reader == "imdb":
        fields = _read_imdb(spec, path)
    elif spec.reader == "yelp":
        fields = _read_yelp(spec, path, literal_newline)
    else:
        fields = _read_tsv(spec, split_spec, path, language)
    texts_a, texts_b, labels, ids, skipped_lines = fields
    if skipped_lines:
        shown = ", ".join(str(n) for n in skipped_lines[:10])
        more = ", ..." if len(skipped_lines) > 10 else ""
        warnings.warn(
            f"{spec.name} {split}: skipped {len(skipped_lines)} malformed line(s) of "
            f"{path} (line {shown}{more}): wrong number of fields. The other "
            f"{len(ids)} examples were read.", stacklevel=2)
    return GlueData(
        task=spec.name, split=split,
        x=(texts_a, texts_b) if spec.pair else texts_a,
        y=_label_array(spec, labels),
        ids=ids, label_names=None if spec.label_names is None else list(spec.label_names),
        skipped=len(skipped_lines), skipped_lines=skipped_lines, path=path)


def _label_array(spec, labels):
    if labels is None:
        return None
    dtype = np.float32 if spec.is_regression else np.int32
    return np.asarray(labels, dtype=dtype).reshape(-1)


def _find(spec, split, split_spec, data_dir, language):
    candidates = [os.path.join(data_dir, f.format(language=language))
                  for f in split_spec.files]
    for path in candidates:
        if tf.io.gfile.exists(path):
            return path
    expected = " or ".join(f.format(language=language) for f in split_spec.files)
    where = ("it is not there" if tf.io.gfile.isdir(data_dir)
             else "that folder does not exist")
    raise FileNotFoundError(
        f"{spec.name} {split}: expected {expected} in the folder {data_dir}, but "
        f"{where}. kerabert.glue reads {spec.layout}.")


def _decoded_lines(path):
    """Yields the lines of a UTF-8 file, with their line endings, without a
    leading byte order mark."""
    with tf.io.gfile.GFile(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise GlueFormatError(f"{path}, line {number}: not UTF-8 ({error}). The "
                                      "GLUE files are UTF-8; was the file re-encoded?") from None
            yield line.lstrip("\ufeff") if number == 1 else line


def _lines(path):
    """Yields `(line_number, text)` for the non-blank lines of a UTF-8 file,
    without the line ending."""
    for number, line in enumerate(_decoded_lines(path), start=1):
        line = line.rstrip("\r\n")
        # The XLNet reference skips empty lines too; they hold no data.
        if line.strip():
            yield number, line


def _split_fields(line):
    # Tab-separated with quoting off, as csv.reader(delimiter="\t",
    # quoting=csv.QUOTE_NONE) reads it: quote characters are literal text
    # (MRPC and MNLI sentences hold unbalanced quotes). str.split gives the
    # same fields and does not choke on a stray carriage return in a field.
    return line.split("\t")


def _fits(fields, width):
    """A line has as many fields as the header; trailing empty fields beyond it
    (a stray tab at the end of the line) are harmless."""
    if len(fields) == width:
        return True
    return len(fields) > width and not any(f.strip() for f in fields[width:])


def _column_indexes(spec, split_spec, header, path):
    columns = split_spec.columns or spec.columns
    required = ["text_a"] + (["text_b"] if spec.pair else [])
    if split_spec.labelled:
        required.append("label")
    if "language" in columns:
        required.append("language")
    names = [h.strip() for h in header]
    indexes = {}
    for role, accepted in columns.items():
        found = [names.index(n) for n in accepted if n in names]
        if found:
            indexes[role] = found[0]
        elif role in required:
            raise GlueFormatError(
                f"{path}: no column named {' or '.join(map(repr, accepted))} in the "
                f"header {names}. Is this the {spec.name} file from the GLUE download "
                f"(or the task's original release)? kerabert.glue reads {spec.layout}.")
    return indexes


def _read_tsv(spec, split_spec, path, language):
    lines = _lines(path)
    if split_spec.header:
        first = next(lines, None)
        if first is None:
            raise GlueFormatError(f"{path} is empty; a {spec.name} file starts with a "
                                  "header line naming its columns.")
        header = _split_fields(first[1])
        width = len(header)
        indexes = _column_indexes(spec, split_spec, header, path)
    else:
        width = split_spec.width
        indexes = dict(split_spec.positions)
    label_index = indexes.get("label")
    labelled = label_index is not None
    label_ids = (None if spec.is_regression
                 else {name: i for i, name in enumerate(spec.label_names)})
    aliases = split_spec.label_aliases or {}
    texts_a, texts_b, labels, ids, skipped = [], [], [], [], []
    for row, (number, line) in enumerate(lines):
        fields = _split_fields(line)
        if not _fits(fields, width):
            skipped.append(number)
            continue
        if "language" in indexes and fields[indexes["language"]].strip() != language:
            continue
        texts_a.append(fields[indexes["text_a"]])
        if spec.pair:
            texts_b.append(fields[indexes["text_b"]])
        ids.append(fields[indexes["id"]].strip() if "id" in indexes else str(row))
        if labelled:
            value = fields[label_index].strip()
            labels.append(_parse_label(spec, value, label_ids, aliases, path, number))
    if "language" in indexes and not ids and not skipped:
        raise GlueFormatError(f"{path} has no line with language {language!r} in its "
                              "'language' column.")
    return texts_a, texts_b if spec.pair else None, labels if labelled else None, ids, skipped


def _parse_label(spec, value, label_ids, aliases, path, number):
    if label_ids is None:
        try:
            score = float(value)
        except ValueError:
            score = float("nan")
        if not np.isfinite(score):
            raise GlueFormatError(f"{path}, line {number}: score {value!r} is not a "
                                  f"number; {spec.name} labels are similarity scores such "
                                  "as 3.8.")
        return score
    value = aliases.get(value, value)
    if value not in label_ids:
        raise GlueFormatError(
            f"{path}, line {number}: label {value!r} is not one of the {spec.name} labels "
            f"{list(spec.label_names)}. Check that the file belongs to {spec.name} and "
            "that this line is intact.")
    return label_ids[value]


def _read_imdb(spec, folder):
    label_ids = {name: i for i, name in enumerate(spec.label_names)}
    texts, labels, ids = [], [], []
    for label in spec.label_names:
        files = sorted(tf.io.gfile.glob(os.path.join(folder, label, "*.txt")))
        if not files:
            raise FileNotFoundError(
                f"IMDB: no .txt files in {os.path.join(folder, label)}. kerabert.glue "
                f"reads {spec.layout}.")
        for path in files:
            with tf.io.gfile.GFile(path, "rb") as f:
                raw = f.read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise GlueFormatError(f"{path}: not UTF-8 ({error}).") from None
            # As the XLNet reference: the reviews' HTML line breaks become spaces.
            texts.append(text.strip().replace("<br />", " "))
            labels.append(label_ids[label])
            ids.append(f"{label}/{os.path.basename(path)}")
    return texts, None, labels, ids, []


def _read_yelp(spec, path, literal_newline):
    label_ids = {name: i for i, name in enumerate(spec.label_names)}
    texts, labels, ids, skipped = [], [], [], []

    # csv gets the lines with their endings: a quoted field may span lines.
    reader = csv.reader(_decoded_lines(path))
    row = -1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise GlueFormatError(f"{path}, line {reader.line_num}: not valid CSV "
                                  f"({error}).") from None
        if not fields:
            continue  # a blank line
        row += 1
        if len(fields) != 2:
            skipped.append(reader.line_num)
            continue
        value, text = fields[0].strip(), fields[1]
        if value not in label_ids:
            raise GlueFormatError(
                f"{path}, line {reader.line_num}: label {value!r} is not one of the "
                f"{spec.name} labels {list(spec.label_names)} (the first CSV column is "
                "the star rating).")
        # The texts escape quotes twice over (CSV's "" and a backslash); the
        # XLNet reference undoes both, in this order.
        text = text.replace('""', '"').replace('\\"', '"')
        if literal_newline is not None:
            text = text.replace("\\n", literal_newline)
        texts.append(text)
        labels.append(label_ids[value])
        ids.append(str(row))
    return texts, None, labels, ids, skipped


# --- scoring ----------------------------------------------------------------------


def _to_array(values, what):
    try:
        return np.asarray(values)
    except Exception as error:  # noqa: BLE001 - ragged lists and the like
        raise ValueError(f"{what} could not be read as an array: {error}") from None


def _class_ids(spec, values, what, scores_allowed):
    """Labels / predictions -> (N,) int64 class ids.

    Accepted: class ids (1-D ints, or floats holding whole numbers), label
    names (1-D str), and, when `scores_allowed`, (N, num_classes) logits or
    probabilities (argmax).
    """
    names = list(spec.label_names)
    array = _to_array(values, what)
    if array.dtype.kind == "O" and array.ndim == 1 and not all(
            isinstance(v, str) for v in array.tolist()):
        array = _to_array(array.tolist(), what)
    if array.dtype.kind in "USO" and array.ndim == 1:
        index = {name: i for i, name in enumerate(names)}
        unknown = sorted({str(v) for v in array.tolist() if str(v) not in index})
        if unknown:
            raise ValueError(f"{what} hold names that are not {spec.name} labels: "
                             f"{unknown[:5]}; the labels are {names}.")
        return np.asarray([index[str(v)] for v in array.tolist()], dtype=np.int64)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{what} must be numbers or label names, got dtype {array.dtype}.")
    if array.ndim == 2 and scores_allowed:
        if array.shape[1] != len(names):
            raise ValueError(
                f"{what} have shape {array.shape}: {array.shape[1]} columns, but "
                f"{spec.name} has {len(names)} classes {names}. Pass (N, {len(names)}) "
                "logits or probabilities, or (N,) class ids.")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{what} contain NaN or infinite values.")
        return np.argmax(array, axis=1).astype(np.int64)
    if array.ndim != 1:
        shapes = "(N,) class ids"
        if scores_allowed:
            shapes += f" or (N, {len(names)}) scores"
        raise ValueError(f"{what} have shape {array.shape}; {spec.name} takes {shapes}.")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise ValueError(
                f"{what} are 1-D floats that are not class ids; for {spec.name} pass "
                f"class ids (0..{len(names) - 1}), label names, or (N, {len(names)}) "
                "logits / probabilities.")
    ids = array.astype(np.int64)
    bad = (ids < 0) | (ids >= len(names))
    if np.any(bad):
        raise ValueError(f"{what} hold class ids outside 0..{len(names) - 1} (e.g. "
                         f"{ids[bad][0]}); {spec.name} has the classes {names}.")
    return ids


def _scores(spec, values, what):
    """STS-B labels / predictions -> (N,) float64; (N, 1) is accepted."""
    array = _to_array(values, what)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{what} must be numbers (similarity scores), got dtype "
                         f"{array.dtype}.")
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{what} have shape {array.shape}; {spec.name} takes scores of "
                         "shape (N,) or (N, 1).")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} contain NaN or infinite values.")
    return array


_METRICS = {"accuracy": accuracy, "f1": f1, "matthews_corr": matthews_corr,
            "pearson": pearson, "spearman": spearman}


def evaluate(task, labels, predictions):
    """GLUE's metrics for `task` (see the module docstring's table).

    Args:
      labels: (N,) class ids or label names; STS-B: (N,) or (N, 1) scores.
      predictions: (N, num_classes) logits or probabilities (argmax is taken),
        (N,) class ids or label names; STS-B: (N,) or (N, 1) scores.
    Returns:
      dict metric -> float in [0, 1] (correlations in [-1, 1]), e.g.
      `{"accuracy": 0.86, "f1": 0.90}` for MRPC.
    """
    spec = get_task(task)
    if spec.is_regression:
        y_true = _scores(spec, labels, "labels")
        y_pred = _scores(spec, predictions, "predictions")
    else:
        y_true = _class_ids(spec, labels, "labels", scores_allowed=False)
        y_pred = _class_ids(spec, predictions, "predictions", scores_allowed=True)
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} labels but {len(y_pred)} predictions; they must "
                         "be the same examples in the same order.")
    if len(y_true) == 0:
        raise ValueError("No examples to evaluate (labels and predictions are empty).")
    if spec.is_regression and len(y_true) < 2:
        raise ValueError("Correlations need at least 2 examples.")
    return {name: _METRICS[name](y_true, y_pred) for name in spec.metrics}


# --- submission files -------------------------------------------------------------


def write_submission(task, ids, predictions, path):
    """Writes predictions as the GLUE server wants them.

    The file is tab-separated: a header "index<TAB>prediction", then one line
    per id with the label NAME ("entailment", "not_entailment", "0" / "1" for
    the binary tasks) or, for STS-B, the score. Name the files as
    `submission_filename` says (MNLI matched and mismatched are two files,
    MNLI-m.tsv and MNLI-mm.tsv) and zip the eleven of them for the server.

    Args:
      task: a GLUE task name.
      ids: N ids, the test file's index column (`GlueData.ids`).
      predictions: as `evaluate`'s (logits, probabilities, class ids, names;
        STS-B scores).
      path: output file (local, `gs://`, `ram://`). Written to a temporary
        file next to it and renamed, so a crash never leaves half a file.
    Returns:
      path.
    """
    spec = get_task(task)
    ids = [str(i) for i in (ids.tolist() if isinstance(ids, np.ndarray) else ids)]
    for i in ids:
        if not i or any(c in i for c in "\t\r\n"):
            raise ValueError(f"id {i!r} is empty or holds a tab or line break; pass the "
                             "test file's index column (GlueData.ids).")
    if spec.is_regression:
        scores = _scores(spec, predictions, "predictions")
        if scores.dtype.kind != "f":
            scores = scores.astype(np.float64)
        # str() of a numpy float is its shortest exact decimal form.
        values = [str(v) for v in scores]
    else:
        values = [spec.label_names[i]
                  for i in _class_ids(spec, predictions, "predictions", scores_allowed=True)]
    if len(values) != len(ids):
        raise ValueError(f"{len(ids)} ids but {len(values)} predictions; pass the test "
                         "file's ids and one prediction per id, in the same order.")
    text = "index\tprediction\n" + "".join(f"{i}\t{v}\n" for i, v in zip(ids, values))
    atomic_write(path, text.encode("utf-8"))
    return path


def atomic_write(path, data):
    """Writes bytes to `path` whole or not at all (`kerabert.presets.files.atomic_write`
    says how)."""
    with files.atomic_write(path, "wb") as f:
        f.write(data)
