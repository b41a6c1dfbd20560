"""What `from_preset` is given, turned into a local folder.

`resolve_preset` accepts
  - a handle of a registered scheme (`SCHEMES`): `hf://owner/repo[@revision]`,
    downloaded with `huggingface_hub` into its cache (`hub.py`), and
    `kaggle://owner/model/framework/variation[/version]`, a keras-hub preset on
    Kaggle Models downloaded with `kagglehub` (`kaggle.py`);
  - a folder on a `tf.io.gfile` filesystem (`gs://bucket/preset`), copied locally;
  - a local folder (a kerabert preset or another library's checkpoint folder);
  - a built-in name (`kerabert.list_presets()`, e.g. "bert_base_en_uncased"),
    or keras-hub's name of the same checkpoint ("bert_base_en" is
    "bert_base_en_cased"), downloaded from the Hugging Face Hub; keras-hub's
    other presets ("bert_tiny_en_uncased_sst2", "all_minilm_l6_v2_en") come
    from Kaggle, through the installed keras-hub's preset table.

A new scheme is one line in `SCHEMES`: the prefix and the function (as
"module:function") that downloads such a handle and returns its folder.
"""

import difflib
import importlib
import os
import re

from kerabert.presets import files
from kerabert.presets import registry

SCHEMES = {
    "hf://": "kerabert.presets.hub:download_handle",
    "kaggle://": "kerabert.presets.kaggle:download",
}
_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*$")  # the shape of preset names (no paths)
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


def _scheme_handler(text):
    for prefix, path in SCHEMES.items():
        if text.startswith(prefix):
            module, _, function = path.partition(":")
            return getattr(importlib.import_module(module), function)
    return None


def resolve_preset(preset):
    """Returns a local folder for `preset` (see the module docstring)."""
    text = os.fspath(preset)
    handler = _scheme_handler(text)
    if handler is not None:
        return handler(text)
    if files.is_remote(text):  # gs://, s3://, ram://: copied to a local temporary folder
        return files.download_folder(text)
    path = os.path.expanduser(text)
    if os.path.isdir(path):
        return path
    if os.path.exists(path):
        raise NotADirectoryError(
            f"Preset {text!r} is a file; a preset is a folder (a kerabert preset "
            "written by save_to_preset, or a Hugging Face model folder).")
    return _built_in(text)


def _built_in(name):
    from kerabert.presets import hub
    from kerabert.presets import kaggle

    entry = registry.get(name)
    if entry is not None:
        return hub.download(entry.hf_repo, None, label=f"{name} ({entry.hf_repo})",
                            family=entry.family)
    keras_hub_presets = registry.keras_hub_presets() if _NAME.match(name) else {}
    if name in keras_hub_presets:
        return kaggle.download(keras_hub_presets[name])
    hints = []
    names = dict.fromkeys(registry.preset_names(aliases=True) + list(keras_hub_presets))
    close = difflib.get_close_matches(name, list(names), n=3)
    if close:
        hints.append(f"Did you mean {' or '.join(repr(c) for c in close)}?")
    if _REPO_ID.match(name):
        hints.append(f"To download it from the Hugging Face Hub, write 'hf://{name}'.")
    raise FileNotFoundError(
        f"Preset {name!r} was not found: no such folder and not a built-in preset name. "
        "Pass the path of a kerabert preset folder (written by save_to_preset) or of a "
        f"Hugging Face model folder (config.json + model.safetensors + "
        f"{hub.vocabulary_files()}), "
        "'hf://owner/repo', 'kaggle://owner/model/framework/variation', or a name from "
        "kerabert.list_presets(). " + " ".join(hints))
