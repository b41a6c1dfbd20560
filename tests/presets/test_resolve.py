"""`resolve_preset`: schemes are registered in one table, which the
filesystem helpers agree with (resolving itself is tested in test_hub.py,
test_keras_hub.py and test_registry.py)."""

import pytest

from kerabert.presets import files
from kerabert.presets import resolve


def test_the_schemes_files_leaves_alone_are_the_registered_ones():
    assert set(files.HUB_SCHEMES) == set(resolve.SCHEMES)
    for scheme in resolve.SCHEMES:
        assert not files.is_remote(scheme + "owner/name")


def test_a_registered_scheme_is_dispatched_to_its_handler(monkeypatch):
    calls = []
    monkeypatch.setitem(resolve.SCHEMES, "kaggle://", f"{__name__}:_record")
    monkeypatch.setattr(resolve, "_record_calls", calls, raising=False)
    assert resolve.resolve_preset("kaggle://a/b/c/d") == "/cached/a-b-c-d"
    assert calls == ["kaggle://a/b/c/d"]


def _record(handle):
    resolve._record_calls.append(handle)
    return "/cached/" + handle[len("kaggle://"):].replace("/", "-")


def test_unknown_names_suggest_the_closest_built_in_one():
    with pytest.raises(FileNotFoundError, match="Did you mean 'bert_base_en_uncased'"):
        resolve.resolve_preset("bert_base_en_uncasd")
