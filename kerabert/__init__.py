"""kerabert: Keras-native BERT and XLNet with presets, in-graph tokenizers and tasks.

The public names below are imported on first use (PEP 562), so `import
kerabert` and the `kerabert` command's `--help` do not import TensorFlow.
Keras must still find kerabert's classes when it reads a `.keras` file (it
looks registered names up, it does not import third-party modules), so the
modules that register Keras classes (`_KERAS_CLASSES`) are imported as soon as
Keras is: when `import kerabert` finds Keras already imported, or right after a
later import of Keras (or of a kerabert module that imports it) completes.
"""

import importlib
import importlib.abc
import importlib.util
import sys

from kerabert.version import __version__

# Tells the preset registry where the model families are (import paths only:
# no model code, no framework is imported here).
importlib.import_module("kerabert.checkpoints")

# Public name -> (module, attribute in it; None for the module itself).
_EXPORTS = {
    "AdamWeightDecay": ("kerabert.optimizers.adam_weight_decay", "AdamWeightDecay"),
    "Backbone": ("kerabert.backbones.backbone", "Backbone"),
    "BertBackbone": ("kerabert.backbones.bert_backbone", "BertBackbone"),
    "BertClassifier": ("kerabert.tasks.bert_classifier", "BertClassifier"),
    "BertPreprocessor": ("kerabert.preprocessors.bert_preprocessor", "BertPreprocessor"),
    "BertPretrainer": ("kerabert.tasks.bert_pretrainer", "BertPretrainer"),
    "BertPretrainerPreprocessor": ("kerabert.preprocessors.bert_pretrainer_preprocessor",
                                   "BertPretrainerPreprocessor"),
    "BertQuestionAnswerer": ("kerabert.tasks.bert_question_answerer", "BertQuestionAnswerer"),
    "BertQuestionAnswererPreprocessor": (
        "kerabert.preprocessors.bert_question_answerer_preprocessor",
        "BertQuestionAnswererPreprocessor"),
    "BertTokenizer": ("kerabert.tokenizers.bert_tokenizer", "BertTokenizer"),
    "CheckpointMismatchError": ("kerabert.presets.errors", "CheckpointMismatchError"),
    "CorruptCheckpointError": ("kerabert.presets.errors", "CorruptCheckpointError"),
    "HubError": ("kerabert.presets.hub", "HubError"),
    "Lamb": ("kerabert.optimizers.lamb", "Lamb"),
    "LinearWarmupDecay": ("kerabert.optimizers.linear_warmup_decay", "LinearWarmupDecay"),
    "Preprocessor": ("kerabert.preprocessors.preprocessor", "Preprocessor"),
    "Task": ("kerabert.tasks.task", "Task"),
    "Tokenizer": ("kerabert.tokenizers.tokenizer", "Tokenizer"),
    "WarmupPolynomialDecay": ("kerabert.optimizers.warmup_polynomial_decay",
                              "WarmupPolynomialDecay"),
    "XLNetBackbone": ("kerabert.backbones.xlnet_backbone", "XLNetBackbone"),
    "XLNetClassifier": ("kerabert.tasks.xlnet_classifier", "XLNetClassifier"),
    "XLNetPreprocessor": ("kerabert.preprocessors.xlnet_preprocessor", "XLNetPreprocessor"),
    "XLNetPretrainer": ("kerabert.tasks.xlnet_pretrainer", "XLNetPretrainer"),
    "XLNetQuestionAnswerer": ("kerabert.tasks.xlnet_question_answerer", "XLNetQuestionAnswerer"),
    "XLNetQuestionAnswererPreprocessor": (
        "kerabert.preprocessors.xlnet_question_answerer_preprocessor",
        "XLNetQuestionAnswererPreprocessor"),
    "XLNetTokenizer": ("kerabert.tokenizers.xlnet_tokenizer", "XLNetTokenizer"),
    "callbacks": ("kerabert.callbacks", None),
    "data": ("kerabert.data", None),
    "glue": ("kerabert.data.glue", None),
    "list_presets": ("kerabert.presets.registry", "list_presets"),
    "losses": ("kerabert.losses", None),
    "serving": ("kerabert.serving", None),
    "squad": ("kerabert.data.squad", None),
}

__all__ = sorted(_EXPORTS) + ["__version__"]

# The modules whose classes Keras deserializes (tasks, backbones, layers,
# preprocessors, tokenizers, optimizers and schedules); the tasks import the rest.
_KERAS_CLASSES = (
    "kerabert.tasks.bert_classifier", "kerabert.tasks.bert_question_answerer",
    "kerabert.tasks.bert_pretrainer", "kerabert.tasks.xlnet_classifier",
    "kerabert.tasks.xlnet_question_answerer", "kerabert.tasks.xlnet_pretrainer",
    "kerabert.optimizers.adam_weight_decay", "kerabert.optimizers.lamb",
    "kerabert.optimizers.linear_warmup_decay", "kerabert.optimizers.warmup_polynomial_decay",
)

_all_loaded = False


def _load(name):
    module, attribute = _EXPORTS[name]
    value = importlib.import_module(module)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def _load_all():
    """Imports the modules that register kerabert's Keras classes, once."""
    global _all_loaded
    if not _all_loaded:
        _all_loaded = True
        for module in _KERAS_CLASSES:
            importlib.import_module(module)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'kerabert' has no attribute {name!r}")
    value = _load(name)
    # A name that needed Keras (most do) registers the Keras classes now; one
    # that did not (`list_presets`) leaves TensorFlow unloaded.
    _load_all_when_ready(None)
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


def _initializing(module):
    return getattr(getattr(module, "__spec__", None), "_initializing", False)


def _load_all_when_ready(just_imported):
    """Imports the Keras-class modules once Keras is imported and no other import
    of a kerabert module (or of Keras) is still running: loading them in the
    middle of one would be circular."""
    if _all_loaded or "keras" not in sys.modules:
        return
    busy = [name for name, module in list(sys.modules.items())
            if name != just_imported and (name == "keras" or name.startswith("kerabert."))
            and _initializing(module)]
    if not busy:
        _load_all()


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls `_load_all_when_ready` after `keras` or any kerabert module has
    been imported, until everything is loaded."""

    _finding = False

    def find_spec(self, name, path=None, target=None):
        if _all_loaded or self._finding or not (name == "keras" or name.startswith("kerabert.")):
            return None
        self._finding = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self._finding = False
        if spec is not None and spec.loader is not None:
            spec.loader = _RunAfter(spec.loader, name)
        return spec


class _RunAfter(importlib.abc.Loader):
    """A loader that runs the real one, then `_load_all_when_ready`."""

    def __init__(self, loader, name):
        self._loader = loader
        self._name = name

    def __getattr__(self, attribute):  # resource readers and the like
        return getattr(self._loader, attribute)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _load_all_when_ready(self._name)


if "keras" in sys.modules:
    _load_all()
elif not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
    sys.meta_path.insert(0, _AfterImport())
