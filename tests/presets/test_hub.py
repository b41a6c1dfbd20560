"""push_to_hub and hf:// loading through the real huggingface_hub client, against
a loopback fake Hub (tests/presets/fake_hub.py). Nothing here reaches the network."""

import io
import logging
import os
import time
import traceback

import h5py
import huggingface_hub
import numpy as np
import pytest

import kerabert
from kerabert.presets import hub
from kerabert.presets import resolve
from tests.presets.fake_hub import BAD_TOKEN
from tests.presets.fake_hub import READ_TOKEN
from tests.presets.fake_hub import WRITE_TOKEN
from tests.presets.fake_hub import Blackhole
from tests.presets.fake_hub import closed_port_url
from tests.presets.fake_hub import folder_files
from tests.presets.fake_hub import hub_env

SENTENCES = ["the quick brown fox", "a cat sat on the mat", "the movie was not good"]


@pytest.fixture(scope="module")
def classifier(hf_classifier_dir):
    folder, _ = hf_classifier_dir
    return kerabert.BertClassifier.from_preset(folder, sequence_length=16)


def _h5_arrays(data):
    with h5py.File(io.BytesIO(data), "r") as f:
        arrays = {}
        f.visititems(lambda name, obj: arrays.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
    return arrays


def _front_matter(readme):
    assert readme.startswith("---\n")
    return huggingface_hub.ModelCard(readme).data.to_dict()


def _secret_free(error, caplog, *tokens):
    text = "".join(traceback.format_exception(error)) + repr(error) + caplog.text
    for token in tokens:
        assert token not in text


# --- push_to_hub -----------------------------------------------------------------

def test_push_task_uploads_preset_and_model_card(fake_hub, classifier, tmp_path):
    info = classifier.push_to_hub("alice/tiny-clf", token=WRITE_TOKEN,
                                  metrics={"accuracy": 0.875}, base_model="bert_base_en_uncased")
    repo = fake_hub.repos["alice/tiny-clf"]
    assert info.oid == repo.sha and len(repo.commits) == 1
    assert repo.commits[0][1] == "Upload kerabert BertClassifier preset"
    assert sorted(repo.files) == sorted([
        "README.md", "config.json", "model.weights.h5", "metadata.json", "tokenizer.json",
        "assets/tokenizer/vocabulary.txt", "preprocessor.json", "task.json", "task.weights.h5"])
    # The files are what save_to_preset writes (metadata.json differs only in its date).
    classifier.save_to_preset(tmp_path / "local")
    for name in ("config.json", "tokenizer.json", "preprocessor.json", "task.json",
                 "assets/tokenizer/vocabulary.txt"):
        assert repo.files[name] == (tmp_path / "local" / name).read_bytes(), name
    for name in ("model.weights.h5", "task.weights.h5"):
        uploaded = _h5_arrays(repo.files[name])
        local = _h5_arrays((tmp_path / "local" / name).read_bytes())
        assert sorted(uploaded) == sorted(local) and uploaded
        for key in local:
            np.testing.assert_array_equal(uploaded[key], local[key])
    readme = repo.files["README.md"].decode()
    front = _front_matter(readme)
    assert front["library_name"] == "kerabert"
    assert front["pipeline_tag"] == "text-classification"
    assert front["base_model"] == "google-bert/bert-base-uncased"
    assert front["metrics"] == ["accuracy"]
    assert "kerabert" in front["tags"] and "bert" in front["tags"]
    assert "| accuracy | 0.875 |" in readme
    assert 'kerabert.BertClassifier.from_preset("hf://alice/tiny-clf")' in readme
    # Every write request carried the token; nothing was sent without it.
    writes = [r for r in fake_hub.requests if r[0] == "POST"]
    assert {r[1] for r in writes} >= {"/api/repos/create", "/api/models/alice/tiny-clf/commit/main"}
    assert all(r[2] == f"Bearer {WRITE_TOKEN}" for r in writes)


def test_push_backbone_with_tokenizer_and_private_repo(fake_hub, classifier):
    tokenizer = classifier.preprocessor.tokenizer
    classifier.backbone.push_to_hub("alice/tiny-backbone", private=True, token=WRITE_TOKEN,
                                    tokenizer=tokenizer, commit_message="first")
    repo = fake_hub.repos["alice/tiny-backbone"]
    assert repo.private and repo.commits[0][1] == "first"
    assert sorted(repo.files) == sorted(["README.md", "config.json", "model.weights.h5",
                                         "metadata.json", "tokenizer.json",
                                         "assets/tokenizer/vocabulary.txt"])
    front = _front_matter(repo.files["README.md"].decode())
    assert front["pipeline_tag"] == "feature-extraction" and "base_model" not in front
    # Pushing again to the existing repo (create_repo answers 409) adds a commit.
    classifier.backbone.push_to_hub("alice/tiny-backbone", token=WRITE_TOKEN, tokenizer=tokenizer)
    assert len(repo.commits) == 2


@pytest.mark.parametrize("token, status, words", [
    (BAD_TOKEN, 401, "authentication failed"),
    (READ_TOKEN, 403, "permission denied"),
])
def test_push_rejected_token_gives_clear_error_without_the_token(
        fake_hub, classifier, caplog, token, status, words):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(kerabert.HubError) as error:
        classifier.push_to_hub("alice/denied", token=token)
    assert error.value.status_code == status
    message = str(error.value)
    assert words in message and "alice/denied" in message
    _secret_free(error.value, caplog, token)
    assert "alice/denied" not in fake_hub.repos


def test_push_without_any_token_says_so(fake_hub, classifier):
    with pytest.raises(kerabert.HubError, match="no token was passed and none is saved"):
        classifier.push_to_hub("alice/anon")


def test_push_without_network_fails_fast(monkeypatch, tmp_path, classifier, caplog):
    hub_env(monkeypatch, tmp_path, closed_port_url())
    start = time.monotonic()
    with pytest.raises(kerabert.HubError, match="could not be reached") as error:
        classifier.push_to_hub("alice/offline", token=WRITE_TOKEN)
    assert time.monotonic() - start < 5
    _secret_free(error.value, caplog, WRITE_TOKEN)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(kerabert.HubError, match="HF_HUB_OFFLINE"):
        classifier.push_to_hub("alice/offline", token=WRITE_TOKEN)


def test_scrub_removes_tokens():
    assert hub.scrub(f"bad {WRITE_TOKEN}!", WRITE_TOKEN) == "bad ***!"
    assert "hf_***" in hub.scrub("header Bearer hf_abcdefghijklmnop")


# --- hf:// downloads -----------------------------------------------------------

def test_push_then_load_through_hf_handle(fake_hub, classifier, tmp_path):
    classifier.push_to_hub("alice/round-trip", token=WRITE_TOKEN)
    loaded = kerabert.BertClassifier.from_preset("hf://alice/round-trip")
    classifier.save_to_preset(tmp_path / "local")
    local = kerabert.BertClassifier.from_preset(str(tmp_path / "local"))
    inputs = classifier.preprocessor(SENTENCES)
    expected = np.asarray(classifier(inputs))
    np.testing.assert_array_equal(np.asarray(loaded(loaded.preprocessor(SENTENCES))), expected)
    np.testing.assert_array_equal(np.asarray(local(local.preprocessor(SENTENCES))), expected)
    # README.md is not downloaded; only what kerabert reads.
    assert "README.md" not in fake_hub.paths_requested("GET", "alice/round-trip")

    # A pinned commit resolves too; an unknown revision is a clear error.
    sha = fake_hub.repos["alice/round-trip"].sha
    kerabert.BertBackbone.from_preset(f"hf://alice/round-trip@{sha}")
    with pytest.raises(kerabert.HubError, match="has no revision 'nope'"):
        kerabert.BertBackbone.from_preset("hf://alice/round-trip@nope")


def test_hf_folder_download_fetches_only_what_kerabert_reads(fake_hub, hf_bert_dir):
    folder, _ = hf_bert_dir
    # Other formats beside model.safetensors must not be downloaded.
    fake_hub.add_repo("bob/tiny-bert", folder_files(
        folder, **{"pytorch_model.bin": b"x" * 64, "tf_model.h5": b"y" * 64,
                   "flax_model.msgpack": b"z", "README.md": b"# hi", "onnx/model.onnx": b"o"}))
    loaded = kerabert.BertBackbone.from_preset("hf://bob/tiny-bert@main")
    local = kerabert.BertBackbone.from_preset(folder)
    for a, b in zip(loaded.weights, local.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    got = fake_hub.paths_requested("GET", "bob/tiny-bert")
    assert "model.safetensors" in got and "vocab.txt" in got and "config.json" in got
    assert not {"pytorch_model.bin", "tf_model.h5", "flax_model.msgpack", "README.md",
                "onnx/model.onnx"} & set(got)
    tokenizer = kerabert.BertTokenizer.from_preset("hf://bob/tiny-bert")
    local_tokenizer = kerabert.BertTokenizer.from_preset(folder)
    assert tokenizer.get_vocabulary() == local_tokenizer.get_vocabulary()


def test_missing_and_private_repos(fake_hub, hf_bert_dir):
    with pytest.raises(kerabert.HubError, match="bob/nothing was not found") as error:
        kerabert.BertBackbone.from_preset("hf://bob/nothing")
    assert error.value.status_code == 404
    fake_hub.add_repo("bob/secret", folder_files(hf_bert_dir[0]), private=True)
    with pytest.raises(kerabert.HubError, match="private"):
        kerabert.BertBackbone.from_preset("hf://bob/secret")
    fake_hub.add_repo("bob/docs-only", {"README.md": b"# nothing to load"})
    with pytest.raises(FileNotFoundError, match="has no checkpoint kerabert reads"):
        kerabert.BertBackbone.from_preset("hf://bob/docs-only")


def _selected(names):
    import fnmatch

    patterns = hub.select_files(names)
    return sorted(n for n in names if any(fnmatch.fnmatch(n, p) for p in patterns))


def test_select_files_takes_one_weights_format():
    common = ["config.json", "vocab.txt", "tokenizer.json", "README.md", "tf_model.h5",
              "flax_model.msgpack", "rust_model.ot", "coreml/model.mlmodel"]
    assert _selected(common + ["model.safetensors", "pytorch_model.bin"]) == [
        "config.json", "model.safetensors", "tokenizer.json", "vocab.txt"]
    assert _selected(common + ["pytorch_model.bin"]) == [
        "config.json", "pytorch_model.bin", "tokenizer.json", "vocab.txt"]
    sharded = ["model.safetensors.index.json", "model-00001-of-00002.safetensors",
               "model-00002-of-00002.safetensors", "pytorch_model.bin.index.json",
               "pytorch_model-00001-of-00002.bin"]
    assert _selected(common + sharded) == [
        "config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
        "model.safetensors.index.json", "tokenizer.json", "vocab.txt"]
    tf1 = ["bert_config.json", "vocab.txt", "bert_model.ckpt.index",
           "bert_model.ckpt.data-00000-of-00001", "checkpoint", "README.md"]
    assert _selected(tf1) == sorted(set(tf1) - {"README.md"})
    preset = ["config.json", "model.weights.h5", "metadata.json", "tokenizer.json", "README.md",
              "assets/tokenizer/vocabulary.txt", "task.json", "task.weights.h5"]
    assert _selected(preset) == sorted(set(preset) - {"README.md"})


def test_offline_uses_the_cache_and_names_missing_files(fake_hub, hf_bert_dir, monkeypatch):
    fake_hub.add_repo("bob/cached", folder_files(hf_bert_dir[0]))
    snapshot = resolve.resolve_preset("hf://bob/cached")
    fake_hub.stop()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve.resolve_preset("hf://bob/cached") == snapshot
    kerabert.BertBackbone.from_preset("hf://bob/cached")
    os.remove(os.path.join(snapshot, "model.safetensors"))
    os.remove(os.path.join(snapshot, "vocab.txt"))
    with pytest.raises(kerabert.HubError) as error:
        resolve.resolve_preset("hf://bob/cached")
    message = str(error.value)
    assert "HF_HUB_OFFLINE" in message and "is incomplete" in message
    missing = message.split("Missing: ")[1].split(". Pass")[0]
    assert missing.startswith("model.safetensors") and "vocab.txt" in missing
    assert "config.json" not in missing
    assert "Pass a local folder path instead" in message


def test_unreachable_hub_uses_the_cache(fake_hub, hf_bert_dir, monkeypatch):
    fake_hub.add_repo("bob/cached2", folder_files(hf_bert_dir[0]))
    snapshot = resolve.resolve_preset("hf://bob/cached2")
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    assert resolve.resolve_preset("hf://bob/cached2") == snapshot


# --- failing fast without the network ---------------------------------------------

def _assert_fast_and_clear(preset, limit=5):
    start = time.monotonic()
    with pytest.raises(kerabert.HubError) as error:
        kerabert.BertBackbone.from_preset(preset)
    elapsed = time.monotonic() - start
    assert elapsed < limit, elapsed
    message = str(error.value)
    assert "google-bert/bert-base-uncased" in message
    assert "config.json" in message and "vocab.txt" in message and "model.safetensors" in message
    assert "Pass a local folder path instead" in message
    return message


def test_offline_builtin_name_fails_fast(monkeypatch, tmp_path):
    hub_env(monkeypatch, tmp_path, closed_port_url())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    message = _assert_fast_and_clear("bert_base_en_uncased")
    assert "HF_HUB_OFFLINE is set" in message and "is not in the local" in message


def test_offline_xlnet_builtin_name_names_xlnet_files(monkeypatch, tmp_path):
    hub_env(monkeypatch, tmp_path, closed_port_url())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(kerabert.HubError) as error:
        kerabert.XLNetBackbone.from_preset("xlnet_base_en_cased")
    message = str(error.value)
    assert "xlnet/xlnet-base-cased" in message and "spiece.model" in message
    assert "a folder with config.json, model.safetensors and spiece.model" in message
    assert "vocab.txt" not in message


def test_no_network_builtin_name_fails_fast(monkeypatch, tmp_path):
    hub_env(monkeypatch, tmp_path, closed_port_url())
    message = _assert_fast_and_clear("bert_base_en_uncased")
    assert "could not be reached" in message


def test_silent_network_times_out(monkeypatch, tmp_path):
    blackhole = Blackhole()
    try:
        hub_env(monkeypatch, tmp_path, blackhole.url)
        monkeypatch.setenv("KERABERT_HUB_TIMEOUT", "1")
        message = _assert_fast_and_clear("hf://google-bert/bert-base-uncased")
        assert "could not be reached" in message
    finally:
        blackhole.close()


# --- names -----------------------------------------------------------------------

def test_local_folder_errors_are_kept(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        resolve.resolve_preset(str(tmp_path / "nope"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        resolve.resolve_preset(str(tmp_path / "file"))
    assert resolve.resolve_preset(str(tmp_path)) == str(tmp_path)


def test_name_hints():
    with pytest.raises(FileNotFoundError, match="Did you mean 'bert_base_en_uncased'"):
        resolve.resolve_preset("bert_base_en_uncase")
    with pytest.raises(FileNotFoundError, match="hf://owner/model"):
        resolve.resolve_preset("owner/model")


@pytest.mark.parametrize("handle", ["hf://", "hf://a/b/c", "hf://a/b@", "hf://a b/c"])
def test_malformed_handles(handle):
    with pytest.raises(ValueError, match="Malformed Hub handle"):
        resolve.resolve_preset(handle)


def test_parse_handle():
    assert hub.parse_hf_handle("hf://a/b") == ("a/b", None)
    assert hub.parse_hf_handle("hf://a/b@refs/pr/1") == ("a/b", "refs/pr/1")


def test_push_xlnet_question_answerer_then_load(fake_hub, tmp_path):
    from tests.conftest import save_tiny_hf_xlnet

    save_tiny_hf_xlnet(str(tmp_path / "hf"), "XLNetForQuestionAnswering", seed=3)
    qa = kerabert.XLNetQuestionAnswerer.from_preset(str(tmp_path / "hf"), sequence_length=32)
    qa.push_to_hub("alice/xlnet-qa", token=WRITE_TOKEN, metrics={"f1": 1.0})
    card = _front_matter(fake_hub.repos["alice/xlnet-qa"].files["README.md"].decode())
    assert card["pipeline_tag"] == "question-answering"
    loaded = kerabert.XLNetQuestionAnswerer.from_preset("hf://alice/xlnet-qa")
    question, context = "Who paid?", "In 1990, the boy paid 3,500 yen."
    assert loaded.answer(question=question, context=context) == qa.answer(question=question,
                                                                           context=context)


def test_misspelt_builtin_names_and_aliases_get_suggestions():
    with pytest.raises(FileNotFoundError, match="Did you mean 'bert_base_en_uncased'"):
        kerabert.BertClassifier.from_preset("bert_base_en_uncasd", num_classes=2)
    # keras-hub's name of a built-in checkpoint is an alias, suggested as well.
    with pytest.raises(FileNotFoundError, match="'bert_base_multi'"):
        kerabert.BertBackbone.from_preset("bert_base_mutli")


def test_model_card_lists_the_label_names():
    from tests import harness

    named = harness.tiny_task(kerabert.BertClassifier, num_classes=None,
                              label_names=["neg", "pos|mixed"])
    card = hub.model_card(named, "alice/named")
    assert _front_matter(card)["pipeline_tag"] == "text-classification"
    assert "## Labels" in card
    assert "| 0 | neg |" in card and "| 1 | pos\\|mixed |" in card
    assert "## Labels" not in hub.model_card(harness.tiny_task(kerabert.BertClassifier), "a/b")
