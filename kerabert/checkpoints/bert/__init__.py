"""The BERT family: its classes, the checkpoint formats it reads, and its
built-in presets. Data only: the classes and format modules are imported when
the registry is asked for them."""

from kerabert.presets import formats
from kerabert.presets.registry import Family
from kerabert.presets.registry import Preset

FAMILY = Family(
    name="bert", title="BERT",
    backbone="kerabert.backbones.bert_backbone:BertBackbone",
    tokenizer="kerabert.tokenizers.bert_tokenizer:BertTokenizer",
    task_classes={"classifier": "kerabert.tasks.bert_classifier:BertClassifier",
                  "question_answerer": "kerabert.tasks.bert_question_answerer:BertQuestionAnswerer",
                  "pretrainer": "kerabert.tasks.bert_pretrainer:BertPretrainer"},
    formats={formats.HUGGINGFACE: "kerabert.checkpoints.bert.huggingface",
             formats.TF_CHECKPOINT: "kerabert.checkpoints.bert.google",
             formats.KERAS_HUB: "kerabert.checkpoints.bert.keras_hub"},
    hf_model_types=("bert",), tf_config_files=("bert_config.json",),
    tokenizer_files=("vocab.txt",), keras_hub_backbones=("BertBackbone",),
    keras_hub_tokenizers=("BertTokenizer",))

# Built-in names. `params` is the exact parameter count of the backbone
# (embeddings, encoder and pooler, no task head), computed from the dimensions in
# each checkpoint's published config.json (vocabulary, layers, hidden and
# intermediate size, 512 positions, 2 segments); tests/presets/test_registry.py
# recomputes it. keras-hub names its checkpoints of the same Google releases as
# kerabert does (bert_tiny_en_uncased, bert_base_zh, ...) or as the aliases
# below; its other presets (fine-tuned ones, sentence-transformers) resolve to
# Kaggle.
PRESETS = (
    Preset("bert_tiny_en_uncased", "google/bert_uncased_L-2_H-128_A-2", "bert", 4_385_920,
           "2-layer, 128-hidden, 2-head BERT, uncased English (Turc et al., 2019)."),
    Preset("bert_mini_en_uncased", "google/bert_uncased_L-4_H-256_A-4", "bert", 11_170_560,
           "4-layer, 256-hidden, 4-head BERT, uncased English (Turc et al., 2019)."),
    Preset("bert_small_en_uncased", "google/bert_uncased_L-4_H-512_A-8", "bert", 28_763_648,
           "4-layer, 512-hidden, 8-head BERT, uncased English (Turc et al., 2019)."),
    Preset("bert_medium_en_uncased", "google/bert_uncased_L-8_H-512_A-8", "bert", 41_373_184,
           "8-layer, 512-hidden, 8-head BERT, uncased English (Turc et al., 2019)."),
    Preset("bert_base_en_uncased", "google-bert/bert-base-uncased", "bert", 109_482_240,
           "12-layer, 768-hidden, 12-head BERT-Base, uncased English."),
    Preset("bert_base_en_cased", "google-bert/bert-base-cased", "bert", 108_310_272,
           "12-layer, 768-hidden, 12-head BERT-Base, cased English.",
           aliases=("bert_base_en",)),
    Preset("bert_large_en_uncased", "google-bert/bert-large-uncased", "bert", 335_141_888,
           "24-layer, 1024-hidden, 16-head BERT-Large, uncased English."),
    Preset("bert_large_en_cased", "google-bert/bert-large-cased", "bert", 333_579_264,
           "24-layer, 1024-hidden, 16-head BERT-Large, cased English.",
           aliases=("bert_large_en",)),
    Preset("bert_large_en_uncased_wwm", "google-bert/bert-large-uncased-whole-word-masking",
           "bert", 335_141_888, "BERT-Large, uncased English, pretrained with whole-word masking."),
    Preset("bert_large_en_cased_wwm", "google-bert/bert-large-cased-whole-word-masking", "bert",
           333_579_264, "BERT-Large, cased English, pretrained with whole-word masking."),
    Preset("bert_large_en_uncased_wwm_squad",
           "google-bert/bert-large-uncased-whole-word-masking-finetuned-squad", "bert",
           335_141_888, "BERT-Large uncased whole-word-masking fine-tuned on SQuAD v1.1 (with its "
           "question-answering head)."),
    Preset("bert_base_multi_cased", "google-bert/bert-base-multilingual-cased", "bert",
           177_853_440, "12-layer BERT-Base, cased, 104 languages.",
           aliases=("bert_base_multi",)),
    Preset("bert_base_zh", "google-bert/bert-base-chinese", "bert", 102_267_648,
           "12-layer BERT-Base, Chinese (simplified and traditional)."),
)
