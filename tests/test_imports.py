"""`import kerabert` is instant and side-effect free, yet Keras finds kerabert's
classes whenever it reads a `.keras` file. Each check runs in a fresh process."""

import json

import pytest

from tests.conftest import run_python
from tests.harness import tiny_bert_classifier


def run_fresh(code):
    """Runs `code` in a new interpreter (without USE_TF, which the tests set);
    returns its last stdout line parsed as JSON."""
    result = run_python("-c", code, unset=("USE_TF",), timeout=300)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_sets_nothing_and_loads_no_framework():
    report = run_fresh(
        "import json, os, sys\nbefore = dict(os.environ)\nimport kerabert\n"
        "print(json.dumps({'changed': {k: v for k, v in os.environ.items() if before.get(k) != v},"
        " 'heavy': [m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules],"
        " 'names': len(dir(kerabert))}))")
    assert report["changed"] == {}
    assert report["heavy"] == []
    assert report["names"] >= 30


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("imports") / "classifier.keras")
    model = tiny_bert_classifier(learning_rate=1e-3)
    model.predict(["good movie"], verbose=0)
    model.save(path)
    return path


@pytest.mark.parametrize("imports", [
    "import kerabert\nimport keras",            # isort order: kerabert before keras
    "import keras\nimport kerabert",
    "import keras",                              # kerabert imported by nothing but the test
])
def test_keras_file_loads_whatever_the_import_order(keras_file, imports):
    prelude = "import json\n" + imports + "\n"
    if imports == "import keras":
        prelude += "import kerabert.presets.files\n"  # any kerabert module will do
    report = run_fresh(
        prelude + f"model = keras.saving.load_model({keras_file!r})\n"
        "print(json.dumps({'class': type(model).__name__, "
        "'shape': list(model.predict(['good movie'], verbose=0).shape)}))")
    assert report == {"class": "BertClassifier", "shape": [1, 2]}


def test_loader_finds_classes_without_touching_the_package_api(hf_bert_dir):
    folder, _ = hf_bert_dir
    report = run_fresh(
        "import json\nfrom kerabert.presets import loader\n"
        f"print(json.dumps(loader.PresetLoader({folder!r}).backbone_class().__name__))")
    assert report == "BertBackbone"
