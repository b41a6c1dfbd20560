"""The shape of the checkpoint code: each family is a package whose format
modules implement one Protocol, found through a lazy registry, and the model
code below the tasks knows nothing of checkpoints or tasks."""

import json
import os
import re

import pytest

from kerabert.presets import formats
from kerabert.presets import registry
from kerabert.presets.formats.family_format import FamilyFormat
from tests.conftest import ROOT
from tests.conftest import run_python

PACKAGE = os.path.join(ROOT, "kerabert")


def _sources(*folders):
    for folder in folders:
        for root, _, names in os.walk(os.path.join(PACKAGE, folder)):
            for name in names:
                if name.endswith(".py"):
                    path = os.path.join(root, name)
                    with open(path, encoding="utf-8") as f:
                        yield os.path.relpath(path, ROOT), f.read()


@pytest.mark.parametrize("family", sorted(registry.family_names()))
def test_every_format_module_implements_the_protocol(family):
    family = registry.family(family)
    assert set(family.formats) == {formats.HUGGINGFACE, formats.TF_CHECKPOINT, formats.KERAS_HUB}
    protocol = [name for name in vars(FamilyFormat) if not name.startswith("_")]
    for format_name in family.formats:
        module = family.format(format_name)
        missing = [name for name in protocol if not callable(getattr(module, name, None))]
        assert not missing, f"{module.__name__} lacks {missing}"
        assert isinstance(module, FamilyFormat)


def test_an_unknown_format_is_refused_with_the_known_ones():
    with pytest.raises(NotImplementedError, match="huggingface, keras_hub, tf_checkpoint"):
        registry.family("bert").format("onnx")


def test_no_code_branches_on_a_format_name():
    offenders = [path for path, text in _sources("checkpoints") if "format_name ==" in text]
    assert offenders == []


def test_preset_machinery_names_no_model_code():
    """kerabert/presets/ is generic: the families tell it where they are."""
    pattern = re.compile(r"kerabert\.(backbones|checkpoints|tasks|tokenizers|preprocessors|layers|"
                         r"serving)\b")
    offenders = [path for path, text in _sources("presets") if pattern.search(text)]
    assert offenders == []


def test_model_code_knows_no_checkpoint_or_task():
    """An encoder knows no head, and text knows no model: not even a lazy import."""
    pattern = re.compile(r"kerabert\.(checkpoints|tasks)\b|from kerabert import (checkpoints|tasks)")
    offenders = [path for path, text in _sources("backbones", "tokenizers", "preprocessors",
                                                 "layers") if pattern.search(text)]
    assert offenders == []


def test_registry_answers_in_a_fresh_process_without_loading_a_framework():
    code = ("import json, sys\nimport kerabert\nfrom kerabert.presets import registry\n"
            "p = registry.get('bert_base_en_uncased')\n"
            "print(json.dumps({'repo': p and p.hf_repo, 'alias': registry.get('bert_base_en').name,"
            " 'count': len(kerabert.list_presets()),"
            " 'heavy': [m for m in ('tensorflow', 'keras') if m in sys.modules]}))")
    report = json.loads(run_python("-c", code, unset=("USE_TF",)).stdout.strip().splitlines()[-1])
    assert report == {"repo": "google-bert/bert-base-uncased", "alias": "bert_base_en_cased",
                      "count": len(registry.list_presets()), "heavy": []}


def test_presets_command_prints_every_row_in_a_fresh_process():
    result = run_python("-c", "from kerabert.cli import main; raise SystemExit(main(['presets']))",
                        env={"COLUMNS": "220"})
    for preset in registry.list_presets():
        assert preset["name"] in result.stdout, result.stdout
