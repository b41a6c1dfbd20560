"""kerabert: Keras-native BERT and XLNet with presets, in-graph tokenizers and tasks."""

import os

# transformers (a test oracle here) must not import TensorFlow beside Keras 3.
os.environ.setdefault("USE_TF", "0")

from kerabert.backbones.backbone import Backbone
from kerabert.backbones.bert_backbone import BertBackbone
from kerabert.backbones.xlnet_backbone import XLNetBackbone
from kerabert.optimizers.adam_weight_decay import AdamWeightDecay
from kerabert.optimizers.lamb import Lamb
from kerabert.optimizers.linear_warmup_decay import LinearWarmupDecay
from kerabert.optimizers.warmup_polynomial_decay import WarmupPolynomialDecay
from kerabert import callbacks
from kerabert import losses
from kerabert.data import squad
from kerabert.preprocessors.bert_preprocessor import BertPreprocessor
from kerabert.preprocessors.bert_pretrainer_preprocessor import BertPretrainerPreprocessor
from kerabert.preprocessors.bert_question_answerer_preprocessor import (
    BertQuestionAnswererPreprocessor,
)
from kerabert.preprocessors.preprocessor import Preprocessor
from kerabert.preprocessors.xlnet_preprocessor import XLNetPreprocessor
from kerabert.preprocessors.xlnet_question_answerer_preprocessor import (
    XLNetQuestionAnswererPreprocessor,
)
from kerabert.presets.formats.safetensors_io import CorruptCheckpointError
from kerabert.presets.hub import HubError
from kerabert.presets.registry import list_presets
from kerabert.presets.tensor_reader import CheckpointMismatchError
from kerabert.tasks.bert_classifier import BertClassifier
from kerabert.tasks.bert_pretrainer import BertPretrainer
from kerabert.tasks.bert_question_answerer import BertQuestionAnswerer
from kerabert.tasks.task import Task
from kerabert.tasks.xlnet_classifier import XLNetClassifier
from kerabert.tasks.xlnet_pretrainer import XLNetPretrainer
from kerabert.tasks.xlnet_question_answerer import XLNetQuestionAnswerer
from kerabert.tokenizers.bert_tokenizer import BertTokenizer
from kerabert.tokenizers.tokenizer import Tokenizer
from kerabert.tokenizers.xlnet_tokenizer import XLNetTokenizer
from kerabert.version import __version__

__all__ = [
    "AdamWeightDecay",
    "Backbone",
    "BertBackbone",
    "BertClassifier",
    "BertPreprocessor",
    "BertPretrainer",
    "BertPretrainerPreprocessor",
    "BertQuestionAnswerer",
    "BertQuestionAnswererPreprocessor",
    "BertTokenizer",
    "CheckpointMismatchError",
    "CorruptCheckpointError",
    "HubError",
    "Lamb",
    "LinearWarmupDecay",
    "Preprocessor",
    "Task",
    "Tokenizer",
    "XLNetBackbone",
    "XLNetClassifier",
    "XLNetPreprocessor",
    "XLNetPretrainer",
    "XLNetQuestionAnswerer",
    "XLNetQuestionAnswererPreprocessor",
    "XLNetTokenizer",
    "WarmupPolynomialDecay",
    "callbacks",
    "list_presets",
    "losses",
    "squad",
    "__version__",
]
