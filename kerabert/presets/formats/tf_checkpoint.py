"""TensorFlow checkpoint folders: original Google TF1 BERT and XLNet, and TF Model
Garden TF2 BERT.

A folder holds a config (`bert_config.json`, the reference `BertConfig` JSON, or
`xlnet_config.json`, the reference `XLNetConfig` JSON), the vocabulary (`vocab.txt`
or `spiece.model`) and a checkpoint `<prefix>.index` + `<prefix>.data-NNNNN-of-NNNNN`:

    bert_model.ckpt.*   Google's TF1 BERT releases and Model Garden's tf_20 /
                        keras_bert releases (SEED_NOTES §11.4)
    xlnet_model.ckpt.*  the original XLNet releases
    <any>.index         otherwise, the one named by a `checkpoint` state file, or
                        the only one in the folder

All kinds are read with `tf.train.load_checkpoint`; which converter maps the names
is decided by the names themselves (each converter's `matches(names)`):
`converters/google_bert.py` for TF1 BERT names (`bert/encoder/layer_0/...`),
`converters/google_xlnet.py` for TF1 XLNet names (`model/transformer/layer_0/...`),
`converters/model_garden_bert.py` for Model Garden layouts. The config must be of
the same family as the names.

Tensors that are not model weights (optimizer slots, step and save counters, the
serialized object graph) are left out of the reader and listed in
`reader.skipped`: a fine-tuning checkpoint carries them, and they never map onto a
model.

The functions here are the format protocol `loader` uses for every checkpoint
format: `detect`, `load_config`, `converter`, `open_weights`, `describe`.
"""

import glob
import os

from kerabert.presets import files
from kerabert.presets.formats.safetensors_io import CorruptCheckpointError
from kerabert.presets.tensor_reader import TensorReader

# Config file names, in order of preference (`config.json` only counts when it
# has no HF `model_type`, which `huggingface.detect` would have claimed first).
CONFIG_FILES = ("bert_config.json", "xlnet_config.json", "config.json")
CHECKPOINT_PREFIX = "bert_model.ckpt"
XLNET_CONFIG_FILE = "xlnet_config.json"
XLNET_CHECKPOINT_PREFIX = "xlnet_model.ckpt"

# Names that are training state, not weights.
_BOOKKEEPING_NAMES = ("global_step", "_CHECKPOINTABLE_OBJECT_GRAPH")
_BOOKKEEPING_PREFIXES = ("save_counter/", "optimizer/", "global_step/")
_BOOKKEEPING_PARTS = ("/.OPTIMIZER_SLOT/",)
# TF1 optimizer slots: AdamWeightDecay's adam_m / adam_v, tf.train.Adam's Adam / Adam_1.
_BOOKKEEPING_SUFFIXES = ("/adam_m", "/adam_v", "/Adam", "/Adam_1")

# Converter modules, tried in order on the checkpoint's variable names.
CONVERTERS = ("kerabert.presets.converters.google_bert",
              "kerabert.presets.converters.google_xlnet",
              "kerabert.presets.converters.model_garden_bert")
XLNET_CONVERTER = "kerabert.presets.converters.google_xlnet"


def is_bookkeeping(name):
    """True for checkpoint entries that are training state rather than weights."""
    return (name in _BOOKKEEPING_NAMES or name.startswith(_BOOKKEEPING_PREFIXES)
            or any(part in name for part in _BOOKKEEPING_PARTS)
            or name.endswith(_BOOKKEEPING_SUFFIXES))


def checkpoint_prefix(folder):
    """The checkpoint prefix (`<folder>/bert_model.ckpt` or `xlnet_model.ckpt`) in
    `folder`, or None."""
    for name in (CHECKPOINT_PREFIX, XLNET_CHECKPOINT_PREFIX):
        preferred = os.path.join(folder, name)
        if os.path.isfile(preferred + ".index"):
            return preferred
    if os.path.isfile(os.path.join(folder, "checkpoint")):
        import tensorflow as tf

        latest = tf.train.latest_checkpoint(folder)
        if latest and os.path.isfile(latest + ".index"):
            return latest
    found = sorted(glob.glob(os.path.join(glob.escape(folder), "*.index")))
    if len(found) > 1:
        raise ValueError(
            f"{folder} holds several TensorFlow checkpoints "
            f"({[os.path.basename(f) for f in found]}) and no `checkpoint` file saying "
            f"which is current. Keep one, or name it {CHECKPOINT_PREFIX}.")
    return found[0][: -len(".index")] if found else None


def _config_path(folder):
    names = CONFIG_FILES
    # An XLNet release's config goes with its checkpoint, whatever else lies there.
    if os.path.isfile(os.path.join(folder, XLNET_CHECKPOINT_PREFIX + ".index")):
        names = (XLNET_CONFIG_FILE,) + tuple(n for n in names if n != XLNET_CONFIG_FILE)
    for name in names:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def detect(folder):
    """A BERT or XLNet config next to a TF checkpoint (or a `bert_config.json` /
    `xlnet_config.json` alone)."""
    if any(os.path.isfile(os.path.join(folder, name))
           for name in (CONFIG_FILES[0], XLNET_CONFIG_FILE)):
        return True
    try:
        return _config_path(folder) is not None and checkpoint_prefix(folder) is not None
    except ValueError:
        return True  # several checkpoints: let `open_weights` say so


def load_config(folder):
    path = _config_path(folder)
    if path is None:
        wanted = (XLNET_CONFIG_FILE if os.path.isfile(
            os.path.join(folder, XLNET_CHECKPOINT_PREFIX + ".index")) else CONFIG_FILES[0])
        raise FileNotFoundError(
            f"{folder} holds a TensorFlow checkpoint but no {wanted}, which says how "
            f"big the model is. Put the {wanted} released with the checkpoint next to it.")
    config = files.read_json(path)
    if not isinstance(config, dict):
        raise ValueError(f"{path} is not a BERT or XLNet config (a JSON object).")
    return config


def _load_checkpoint(prefix):
    import tensorflow as tf

    try:
        return tf.train.load_checkpoint(prefix)
    except Exception as error:  # NotFoundError, DataLossError, OpError ...
        raise CorruptCheckpointError(
            f"Cannot read the TensorFlow checkpoint {prefix}: "
            f"{str(error).strip().splitlines()[0]}") from None


def variable_names(folder):
    """`{name: shape}` of the folder's checkpoint (empty when it has none)."""
    prefix = checkpoint_prefix(folder)
    if prefix is None:
        return {}
    return {name: tuple(shape) for name, shape in
            _load_checkpoint(prefix).get_variable_to_shape_map().items()}


def converter(config, folder):
    """The converter module whose layout the checkpoint's names follow.

    Without a readable checkpoint (building the architecture or the tokenizer
    only) the config decides: the XLNet converter for an `XLNetConfig`, else the
    Google BERT one (BERT kinds share the config and vocab files); `open_weights`
    reports a damaged checkpoint when weights are read.
    """
    import importlib

    modules = [importlib.import_module(name) for name in CONVERTERS]
    xlnet = importlib.import_module(XLNET_CONVERTER)
    xlnet_config = xlnet.is_config(config)
    try:
        names = [n for n in variable_names(folder) if not is_bookkeeping(n)]
    except CorruptCheckpointError:
        names = []
    if not names:
        return xlnet if xlnet_config else modules[0]
    for module in modules:
        if module.matches(names):
            if (module is xlnet) != xlnet_config:
                config_kind, checkpoint_kind = (("an XLNet", "a BERT") if xlnet_config
                                                else ("a BERT", "an XLNet"))
                raise ValueError(
                    f"{folder} holds {config_kind} config, but its checkpoint "
                    f"({os.path.basename(checkpoint_prefix(folder))}) is {checkpoint_kind} "
                    f"one ({module.describe(names)}). Put the config released with the "
                    "checkpoint next to it.")
            return module
    raise ValueError(
        f"{checkpoint_prefix(folder)}: unrecognised variable names (e.g. "
        f"{sorted(names)[:4]}). kerabert reads original Google BERT checkpoints "
        "(bert/encoder/layer_N/...), original XLNet checkpoints "
        "(model/transformer/layer_N/...) and TF Model Garden BERT checkpoints of the "
        "tf_20 and keras_bert layouts.")


def describe(folder):
    config = load_config(folder)
    module = converter(config, folder)
    names = [n for n in variable_names(folder) if not is_bookkeeping(n)]
    prefix = checkpoint_prefix(folder)
    where = os.path.basename(prefix) if prefix else "no checkpoint"
    return f"{module.describe(names)} ({where})"


def open_weights(folder):
    """Returns a `TensorReader` over the checkpoint's weights (bookkeeping left out)."""
    prefix = checkpoint_prefix(folder)
    if prefix is None:
        raise FileNotFoundError(
            f"No TensorFlow checkpoint in {folder}: expected {CHECKPOINT_PREFIX}.index "
            f"(or {XLNET_CHECKPOINT_PREFIX}.index) and its .data-* files. Pass "
            "load_weights=False to build the architecture only.")
    reader = _load_checkpoint(prefix)
    names = reader.get_variable_to_shape_map()

    def loader(name):
        def load():
            try:
                return reader.get_tensor(name)
            except Exception as error:  # IndexError on a short read, DataLossError ...
                raise CorruptCheckpointError(
                    f"Cannot read {name!r} from {prefix}: {error}. The checkpoint's data "
                    "file is truncated or damaged; download it again.") from None
        return load

    weights = {n: loader(n) for n in names if not is_bookkeeping(n)}
    skipped = [n for n in names if is_bookkeeping(n)]
    return TensorReader(weights, prefix, skipped=skipped)
