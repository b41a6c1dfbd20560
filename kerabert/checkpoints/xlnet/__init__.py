"""XLNet as the registry knows it (`FAMILY`: classes and format modules by
import path, imported on use) and its built-in names (`PRESETS`)."""

from kerabert.presets import formats
from kerabert.presets.registry import Family
from kerabert.presets.registry import Preset

FAMILY = Family(
    name="xlnet", title="XLNet",
    backbone="kerabert.backbones.xlnet_backbone:XLNetBackbone",
    tokenizer="kerabert.tokenizers.xlnet_tokenizer:XLNetTokenizer",
    task_classes={"classifier": "kerabert.tasks.xlnet_classifier:XLNetClassifier",
                  "question_answerer":
                      "kerabert.tasks.xlnet_question_answerer:XLNetQuestionAnswerer",
                  "pretrainer": "kerabert.tasks.xlnet_pretrainer:XLNetPretrainer"},
    formats={formats.HUGGINGFACE: "kerabert.checkpoints.xlnet.huggingface",
             formats.TF_CHECKPOINT: "kerabert.checkpoints.xlnet.google",
             formats.KERAS_HUB: "kerabert.checkpoints.xlnet.keras_hub"},
    hf_model_types=("xlnet",), tf_config_files=("xlnet_config.json",),
    tokenizer_files=("spiece.model",), keras_hub_backbones=("XLNetBackbone",))

# For XLNet, `params` is `XLNetModel`'s count (word embeddings, mask embedding, layers).
PRESETS = (
    Preset("xlnet_base_en_cased", "xlnet/xlnet-base-cased", "xlnet", 116_718_336,
           "12-layer, 768-hidden, 12-head XLNet-Base, cased English."),
    Preset("xlnet_large_en_cased", "xlnet/xlnet-large-cased", "xlnet", 360_268_800,
           "24-layer, 1024-hidden, 16-head XLNet-Large, cased English."),
)
