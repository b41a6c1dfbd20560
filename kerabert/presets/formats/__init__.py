"""The checkpoint formats kerabert reads and writes.

A format has two halves:
- a folder class here (`KerabertPreset`, `HuggingFaceCheckpoint`,
  `TFCheckpoint`, `KerasHubCheckpoint`) that recognises the folder, reads its
  config and opens its tensors, knowing no model;
- for each model family, one module under `kerabert/checkpoints/<family>/`
  implementing `FamilyFormat` (see `family_format.py`): what that family's
  config keys, tokenizer flags, heads and tensor names are in the format.

The names below are the format names (`Checkpoint.format_name`, the keys of a
family's `formats` table) and the weight-table columns shared by the families
(`kerabert.presets.weight_map`).
"""

# Format names.
KERABERT = "kerabert"
HUGGINGFACE = "huggingface"
TF_CHECKPOINT = "tf_checkpoint"
KERAS_HUB = "keras_hub"

# Weight-table columns (layouts) that are not format names: the original
# TF1 releases. Hugging Face and keras-hub tensors are named in the columns of
# their format names; the BERT family adds its Model Garden layouts.
TF1 = "tf1"
