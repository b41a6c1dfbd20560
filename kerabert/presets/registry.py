"""Built-in preset names: one table mapping a kerabert name to its checkpoint on
the Hugging Face Hub.

`params` is the exact parameter count of the backbone (embeddings, encoder and
pooler, no task head), computed from the dimensions in each checkpoint's
published `config.json` (vocabulary, layers, hidden and intermediate size,
512 positions, 2 segments); `tests/presets/test_registry.py` recomputes it.
For XLNet it is `XLNetModel`'s count (word embeddings, mask embedding, layers).
"""

# name: (Hugging Face repo id, architecture family, params, description)
PRESETS = {
    "bert_tiny_en_uncased": (
        "google/bert_uncased_L-2_H-128_A-2", "bert", 4_385_920,
        "2-layer, 128-hidden, 2-head BERT, uncased English (Turc et al., 2019)."),
    "bert_mini_en_uncased": (
        "google/bert_uncased_L-4_H-256_A-4", "bert", 11_170_560,
        "4-layer, 256-hidden, 4-head BERT, uncased English (Turc et al., 2019)."),
    "bert_small_en_uncased": (
        "google/bert_uncased_L-4_H-512_A-8", "bert", 28_763_648,
        "4-layer, 512-hidden, 8-head BERT, uncased English (Turc et al., 2019)."),
    "bert_medium_en_uncased": (
        "google/bert_uncased_L-8_H-512_A-8", "bert", 41_373_184,
        "8-layer, 512-hidden, 8-head BERT, uncased English (Turc et al., 2019)."),
    "bert_base_en_uncased": (
        "google-bert/bert-base-uncased", "bert", 109_482_240,
        "12-layer, 768-hidden, 12-head BERT-Base, uncased English."),
    "bert_base_en_cased": (
        "google-bert/bert-base-cased", "bert", 108_310_272,
        "12-layer, 768-hidden, 12-head BERT-Base, cased English."),
    "bert_large_en_uncased": (
        "google-bert/bert-large-uncased", "bert", 335_141_888,
        "24-layer, 1024-hidden, 16-head BERT-Large, uncased English."),
    "bert_large_en_cased": (
        "google-bert/bert-large-cased", "bert", 333_579_264,
        "24-layer, 1024-hidden, 16-head BERT-Large, cased English."),
    "bert_large_en_uncased_wwm": (
        "google-bert/bert-large-uncased-whole-word-masking", "bert", 335_141_888,
        "BERT-Large, uncased English, pretrained with whole-word masking."),
    "bert_large_en_cased_wwm": (
        "google-bert/bert-large-cased-whole-word-masking", "bert", 333_579_264,
        "BERT-Large, cased English, pretrained with whole-word masking."),
    "bert_large_en_uncased_wwm_squad": (
        "google-bert/bert-large-uncased-whole-word-masking-finetuned-squad", "bert", 335_141_888,
        "BERT-Large uncased whole-word-masking fine-tuned on SQuAD v1.1 (with its "
        "question-answering head)."),
    "bert_base_multi_cased": (
        "google-bert/bert-base-multilingual-cased", "bert", 177_853_440,
        "12-layer BERT-Base, cased, 104 languages."),
    "bert_base_zh": (
        "google-bert/bert-base-chinese", "bert", 102_267_648,
        "12-layer BERT-Base, Chinese (simplified and traditional)."),
    "xlnet_base_en_cased": (
        "xlnet/xlnet-base-cased", "xlnet", 116_718_336,
        "12-layer, 768-hidden, 12-head XLNet-Base, cased English."),
    "xlnet_large_en_cased": (
        "xlnet/xlnet-large-cased", "xlnet", 360_268_800,
        "24-layer, 1024-hidden, 16-head XLNet-Large, cased English."),
}

# Families kerabert can build today.
SUPPORTED_FAMILIES = ("bert", "xlnet")


def get(name):
    """`{"name", "hf_repo", "family", "params", "description"}` for a built-in name, or None."""
    if name not in PRESETS:
        return None
    hf_repo, family, params, description = PRESETS[name]
    return {"name": name, "hf_repo": hf_repo, "family": family, "params": params,
            "description": description}


def list_presets():
    """The built-in presets as a list of dicts (name, hf_repo, family, params,
    description), in table order.

    Example:
    ```python
    for p in kerabert.list_presets():
        print(p["name"], p["params"], p["hf_repo"])
    ```
    The command `kerabert presets` prints the same table.
    """
    return [get(name) for name in PRESETS]


def format_params(count):
    return f"{count / 1e9:.2f}B" if count >= 1e9 else f"{count / 1e6:.1f}M"
