"""README.md runs: every python block and every `kerabert` command of its bash
blocks, in order, one test per section (tests/readme_runner.py reads them).

Each section runs in a fresh working directory where the README's placeholder
paths exist (tiny models saved by transformers and keras-hub, tiny GLUE and
SQuAD files, a corpus); built-in preset names and hf:// handles are served by
the loopback fake Hub under their real repo names, kaggle:// handles from a
kagglehub cache. `fit` trains one step of one epoch. Python blocks of one
section share a namespace, pre-filled with the data the README leaves to the
reader (PLACEHOLDERS below) and `kerabert`, which every section after the first
assumes imported. A block is skipped only by a `<!-- readme-test: skip REASON -->`
comment before it, and the reason is reported.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests import readme_runner
from tests.conftest import ROOT
from tests.conftest import TINY_VOCAB
from tests.conftest import XLNET_SPIECE
from tests.conftest import save_tiny_hf_xlnet
from tests.presets.fake_hub import WRITE_TOKEN
from tests.presets.fake_hub import FakeHub
from tests.presets.fake_hub import folder_files
from tests.presets.fake_hub import hub_env

pytestmark = pytest.mark.slow

README = os.path.join(ROOT, "README.md")
with open(README, encoding="utf-8") as _f:
    SECTIONS = readme_runner.parse_readme(_f.read())

TEXTS = ["the quick brown fox jumps over the lazy dog .", "a cat sat on the mat .",
         "the movie was not good", "good movie !"]
LABELS = np.array([1, 0, 0, 1])
CONTEXT = "the quick brown fox jumps over the lazy dog ."
# What the README's shape claims (B, L, H, ...) stand for with the data below.
DIMS = {"B": 2, "L": 8, "H": 16, "P": 3}
# 512 positions so the README's default lengths (384-token SQuAD windows) fit.
POSITIONS = dict(max_position_embeddings=512)
# The tokenizer example looks up bert-base-uncased's id of "hello".
README_VOCAB = TINY_VOCAB + [f"[unused{i}]" for i in range(len(TINY_VOCAB), 7592)] + [
    "hello", "world"]


def save_bert(folder, architecture="BertModel", seed=0):
    """A tiny random BERT saved by transformers (as tests/conftest.py's
    save_tiny_hf_bert) over README_VOCAB."""
    import torch
    import transformers

    from tests.conftest import TINY_CONFIG

    os.makedirs(folder, exist_ok=True)
    vocab = os.path.join(folder, "vocab.txt")
    with open(vocab, "w", encoding="utf-8") as f:
        f.write("\n".join(README_VOCAB) + "\n")
    torch.manual_seed(seed)
    config = transformers.BertConfig(**{**TINY_CONFIG, **POSITIONS,
                                        "vocab_size": len(README_VOCAB)})
    getattr(transformers, architecture)(config).eval().save_pretrained(folder)
    transformers.BertTokenizerFast(vocab, do_lower_case=True).save_pretrained(folder)


def _ids():
    rng = np.random.default_rng(0)
    return rng.integers(5, len(TINY_VOCAB), (DIMS["B"], DIMS["L"])).astype("int32")


def _mapping():
    mapping = np.zeros((DIMS["B"], DIMS["P"], DIMS["L"]), "float32")
    mapping[:, np.arange(DIMS["P"]), np.arange(DIMS["P"])] = 1.0
    return mapping


def _publishable_classifier():
    # keras-hub's BERT has only the tanh GELU: a model it can reproduce.
    import kerabert
    from tests import harness

    backbone = harness.tiny_backbone("bert", activation="gelu_approximate")
    preprocessor = kerabert.BertPreprocessor(kerabert.BertTokenizer(TINY_VOCAB),
                                             sequence_length=16)
    return kerabert.BertClassifier(backbone, num_classes=2, preprocessor=preprocessor)


def _tfds_mrpc():
    import tensorflow as tf

    # tfds yields unbatched dict records.
    return tf.data.Dataset.from_tensor_slices(
        {"sentence1": TEXTS[:2], "sentence2": TEXTS[2:], "label": LABELS[:2]})


def _text_dataset():
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices((TEXTS, LABELS)).batch(2)


def _bert(kind, **kwargs):
    import kerabert

    return getattr(kerabert, kind).from_preset("path/to/bert-folder", **kwargs)


FACTORIES = {
    "sentences_a": lambda: TEXTS, "sentences_b": lambda: TEXTS[::-1], "labels": lambda: LABELS,
    "val_a": lambda: TEXTS[:2], "val_b": lambda: TEXTS[2:], "val_labels": lambda: LABELS[:2],
    "sentences": lambda: TEXTS, "x": lambda: TEXTS, "y": lambda: LABELS,
    "texts": lambda: TEXTS, "test_texts": lambda: TEXTS[:3],
    "ids": _ids, "segments": lambda: np.zeros((DIMS["B"], DIMS["L"]), "int32"),
    "mask": lambda: np.ones((DIMS["B"], DIMS["L"]), "int32"),
    "inputs": lambda: {"token_ids": _ids(),
                       "segment_ids": np.zeros((DIMS["B"], DIMS["L"]), "int32"),
                       "padding_mask": np.ones((DIMS["B"], DIMS["L"]), "int32")},
    "perm": lambda: np.random.default_rng(1).integers(
        0, 2, (DIMS["B"], DIMS["L"], DIMS["L"])).astype("float32"),
    "mapping": _mapping,
    "tfds_mrpc": _tfds_mrpc, "train_ds": _text_dataset,
    "backbone": lambda: _bert("BertBackbone"),
    "tokenizer": lambda: _bert("BertTokenizer"),
    "clf": lambda: _bert("BertClassifier", num_classes=2, sequence_length=16),
    "qa": lambda: __import__("kerabert").BertQuestionAnswerer.from_preset(
        "path/to/bert-squad-folder"),
    "context": lambda: CONTEXT,
    "xlnet_backbone": lambda: __import__("tests.harness").harness.tiny_backbone(
        "xlnet", mem_len=4),
    "xlnet_tokenizer": lambda: __import__("kerabert").XLNetTokenizer(proto="spiece.model"),
}


def _publishing():
    clf = _publishable_classifier()
    return {"clf": clf, "backbone": clf.backbone, "tokenizer": clf.preprocessor.tokenizer}


# The names each section's code uses without defining them. A section missing
# here fails: its placeholders must be written down, not guessed.
PLACEHOLDERS = {
    "Classify text": ["sentences_a", "sentences_b", "labels", "val_a", "val_b", "val_labels",
                      "sentences", "x", "y"],
    "GLUE, XNLI, IMDB, Yelp-5: data, metrics, regression": ["tfds_mrpc", "backbone"],
    "Backbone": ["ids", "segments", "mask"],
    "Tokenizer with character offsets": [],
    "Question answering (SQuAD v1.1 / v2.0)": [],
    "XLNet": ["train_ds", "ids", "segments", "mask", "inputs", "perm", "mapping"],
    "Pretraining": ["tokenizer", "xlnet_backbone", "xlnet_tokenizer"],
    "Distribution": ["train_ds", "texts", "labels", "test_texts"],
    "Serving: a SavedModel that takes raw strings": ["clf", "qa", "backbone", "context"],
    "From the Hugging Face Hub and built-in names": [],
    "Publishing": _publishing,
}

# Command-line training runs one epoch (the tiny data sets are one batch).
CLI_ONE_EPOCH = {("glue", "train"): ["--epochs", "1"], ("squad", "train"): ["--epochs", "1"]}

# The Hub repos the README's names resolve to, each a tiny checkpoint of the
# real repo's architecture: (repo, family, transformers class).
HUB_REPOS = [
    ("google-bert/bert-base-uncased", "bert", "BertForPreTraining"),
    ("google-bert/bert-base-cased", "bert", "BertForPreTraining"),
    ("google-bert/bert-large-uncased-whole-word-masking-finetuned-squad", "bert",
     "BertForQuestionAnswering"),
    ("xlnet/xlnet-base-cased", "xlnet", "XLNetLMHeadModel"),
    ("owner/repo", "bert", "BertModel"),
]
HUB_TAGS = {"owner/repo": ["v1.0"]}
KAGGLE_HANDLES = ["keras/bert/keras/bert_tiny_en_uncased_sst2/5"]


class TaggedHub(FakeHub):
    """The fake Hub, with tags (`hf://owner/repo@v1.0`) naming a repo's head."""

    def __init__(self, tags, **kwargs):
        super().__init__(**kwargs)
        self.tags = tags

    def _revision(self, handler, repo, revision):
        repo_id = next((k for k, v in self.repos.items() if v is repo), None)
        if revision in self.tags.get(repo_id, ()):
            return True
        return super()._revision(handler, repo, revision)


def _squad_file(path, version):
    start = CONTEXT.index("fox")
    qas = [{"id": "q1", "question": "what jumps ?",
            "answers": [{"text": "the quick brown fox", "answer_start": 0}]},
           {"id": "q2", "question": "what is lazy ?",
            "answers": [{"text": "dog", "answer_start": CONTEXT.index("dog")}]},
           {"id": "q3", "question": "what colour ?",
            "answers": [{"text": "brown fox", "answer_start": start - 6}]}]
    if version == "v2.0":
        for qa in qas:
            qa["is_impossible"] = False
        qas.append({"id": "q4", "question": "who sat ?", "answers": [],
                    "is_impossible": True, "plausible_answers": []})
    data = {"version": version, "data": [{"title": "t", "paragraphs": [
        {"context": CONTEXT, "qas": qas}]}]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)


def _keras_hub_classifier(folder):
    import keras
    import keras_hub

    keras.utils.set_random_seed(0)
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=TINY_VOCAB, lowercase=True)
    backbone = keras_hub.models.BertBackbone(vocabulary_size=len(TINY_VOCAB), num_layers=2,
                                             num_heads=2, hidden_dim=16, intermediate_dim=32,
                                             max_sequence_length=64)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=16)
    keras_hub.models.BertTextClassifier(backbone, num_classes=2,
                                        preprocessor=preprocessor).save_to_preset(folder)


def _kaggle_cache(cache, folder, handles):
    from kagglehub.cache import Cache
    from kagglehub.cache import get_cached_path
    from kagglehub.handle import parse_model_handle

    previous = os.environ.get("KAGGLEHUB_CACHE")
    os.environ["KAGGLEHUB_CACHE"] = cache
    try:
        for handle in handles:
            parsed = parse_model_handle(handle)
            shutil.copytree(folder, get_cached_path(parsed))
            Cache().mark_as_complete(parsed)
    finally:
        if previous is None:
            del os.environ["KAGGLEHUB_CACHE"]
        else:
            os.environ["KAGGLEHUB_CACHE"] = previous


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A template working directory with the README's paths, and the fake
    Hub serving the README's repos."""
    import kerabert

    root = tmp_path_factory.mktemp("readme")
    work = root / "work"
    models = root / "models"
    save_bert(str(work / "path/to/bert-folder"))
    shutil.copytree(work / "path/to/bert-folder", work / "path/to/bert")
    save_bert(str(work / "path/to/bert-squad-folder"), "BertForQuestionAnswering", seed=2)
    shutil.copytree(work / "path/to/bert-squad-folder", work / "path/to/bert-squad")
    save_tiny_hf_xlnet(str(work / "path/to/xlnet-squad"), "XLNetForQuestionAnswering", seed=3)
    shutil.copytree(os.path.join(ROOT, "tests/fixtures/glue/MRPC"), work / "glue_data/MRPC")
    for name in ("train-v1.1.json", "dev-v1.1.json"):
        _squad_file(work / name, "v1.1")
    for name in ("train-v2.0.json", "dev-v2.0.json"):
        _squad_file(work / name, "v2.0")
    with open(os.path.join(ROOT, "tests/fixtures/botchan.txt"), encoding="utf-8") as f:
        # XLNet's example packs 8 rows of 512 tokens.
        lines = f.read().splitlines()[:400]
    (work / "corpus").mkdir()
    for i in range(2):  # blank lines separate documents
        part = lines[200 * i:200 * (i + 1)]
        (work / f"corpus/part{i}.txt").write_text(
            "\n".join(part[:100] + [""] + part[100:]) + "\n", encoding="utf-8")
    (work / "data").mkdir()
    shutil.copy(work / "path/to/bert-folder/vocab.txt", work / "vocab.txt")
    shutil.copy(XLNET_SPIECE, work / "spiece.model")
    preprocessor = kerabert.BertPreprocessor.from_preset(str(work / "path/to/bert-folder"),
                                                         sequence_length=128)
    kerabert.data.write_classification_tfrecords(str(work / "train.tf_record"), preprocessor,
                                                 TEXTS, LABELS)
    (work / "pretrain.json").write_text(json.dumps({
        "model": "bert", "preset": "path/to/bert-folder",
        "data": {"files": ["corpus/*.txt"], "sequence_length": 32,
                 "max_predictions_per_seq": 5},
        "training": {"batch_size": 2, "steps_per_epoch": 1, "epochs": 1},
        "output_dir": "my_pretrained"}))
    _keras_hub_classifier(str(models / "keras_hub_classifier"))
    _kaggle_cache(str(work / "kagglehub"), str(models / "keras_hub_classifier"), KAGGLE_HANDLES)

    server = TaggedHub(HUB_TAGS, max_requests=100000).start()
    for repo, family, architecture in HUB_REPOS:
        folder = str(models / repo)
        if family == "bert":
            save_bert(folder, architecture)
        else:
            save_tiny_hf_xlnet(folder, architecture)
        server.add_repo(repo, folder_files(folder))
    yield work, server
    server.stop()


@pytest.fixture
def one_step_fit(monkeypatch):
    """Every task's `fit` trains one step of one epoch."""
    from kerabert.tasks.task import TaskMixin

    fit = TaskMixin.fit

    def one_step(self, *args, **kwargs):
        # fit(x, y, batch_size, epochs, validation_data, sample_weight, shuffle,
        # steps_per_epoch, ...): epochs and steps_per_epoch may come by position.
        args = list(args)
        for index, name in ((3, "epochs"), (7, "steps_per_epoch")):
            if len(args) > index:
                args[index] = 1
            else:
                kwargs[name] = 1
        kwargs.pop("initial_epoch", None)
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(TaskMixin, "fit", one_step)


def _run_kerabert(argv, cwd):
    command = [sys.executable, "-m", "kerabert", *argv,
               *CLI_ONE_EPOCH.get(tuple(argv[:2]), [])]
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p])}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, (
        f"`kerabert {' '.join(argv)}` exited {result.returncode}:\n"
        f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return result


@pytest.mark.parametrize("section", SECTIONS, ids=[s.title for s in SECTIONS])
def test_readme_section(section, world, tmp_path, monkeypatch, one_step_fit):
    template, server = world
    work = tmp_path / "work"
    shutil.copytree(template, work)
    monkeypatch.chdir(work)
    hub_env(monkeypatch, tmp_path, server.url)
    monkeypatch.setenv("HF_TOKEN", WRITE_TOKEN)  # push_to_hub's saved login
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(work / "kagglehub"))

    import kerabert

    runnable = [b for b in section.blocks if b.skip is None]
    needs_names = any(b.lang == "python" for b in runnable)
    if needs_names and section.title not in PLACEHOLDERS:
        pytest.fail(f"README section {section.title!r} has python blocks but no entry in "
                    "PLACEHOLDERS (tests/test_readme.py): list the names it leaves undefined")
    namespace = {"__name__": "__readme__", "kerabert": kerabert}
    if needs_names:
        names = PLACEHOLDERS[section.title]
        namespace.update(names() if callable(names) else {n: FACTORIES[n]() for n in names})
    skipped, claims = [], []
    for block in section.blocks:
        if block.skip is not None:
            skipped.append(f"README.md:{block.line} ({block.lang}): {block.skip}")
            continue
        if block.lang == "python":
            claims += readme_runner.run_python(block, namespace, DIMS)
        else:
            for argv, comment in readme_runner.bash_commands(block):
                _run_kerabert(argv, work)
                path = readme_runner.claimed_file(comment)
                if path:
                    assert (work / path).is_file(), (
                        f"`kerabert {' '.join(argv)}` claims to write {path} (# {comment}); "
                        "it did not")
                    claims.append((block.line, f"wrote {path}"))
    for line in skipped:
        print("skipped README block", line)
    if not runnable:
        pytest.skip("; ".join(skipped))
    print("claims checked:", claims)
