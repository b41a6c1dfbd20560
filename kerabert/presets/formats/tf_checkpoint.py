"""TensorFlow checkpoint folders: the original Google TF1 releases (BERT,
XLNet) and TF Model Garden TF2 BERT checkpoints.

A folder holds a config (each family's: `bert_config.json`, the reference
`BertConfig` JSON; `xlnet_config.json`, the reference `XLNetConfig` JSON; or a
`config.json` without a Hugging Face `model_type`), the vocabulary
(`vocab.txt` or `spiece.model`) and a checkpoint `<prefix>.index` +
`<prefix>.data-NNNNN-of-NNNNN`. The prefix is `bert_model.ckpt` /
`xlnet_model.ckpt` in the releases; otherwise the one a `checkpoint` state file
names, or the only one in the folder.

All kinds are read with `tf.train.load_checkpoint`. Which family (and which of
its layouts) the names follow is asked of each registered family
(its TF checkpoint module's `tf_layout(names)`); the config must be of the same family.

Tensors that are not model weights (optimizer slots, step and save counters,
the serialized object graph) are left out of the reader and listed in
`reader.skipped`: a fine-tuning checkpoint carries them, and they never map
onto a model.
"""

import glob
import os

from kerabert.presets import files
from kerabert.presets import registry
from kerabert.presets.errors import CorruptCheckpointError
from kerabert.presets.formats import TF_CHECKPOINT
from kerabert.presets.formats.checkpoint import Checkpoint

GENERIC_CONFIG_FILE = "config.json"
# Checkpoint prefixes of the original releases, tried first.
RELEASE_PREFIXES = ("bert_model.ckpt", "xlnet_model.ckpt")

# Names that are training state, not weights.
_BOOKKEEPING_NAMES = ("global_step", "_CHECKPOINTABLE_OBJECT_GRAPH")
_BOOKKEEPING_PREFIXES = ("save_counter/", "optimizer/", "global_step/")
_BOOKKEEPING_PARTS = ("/.OPTIMIZER_SLOT/",)
# TF1 optimizer slots: AdamWeightDecay's adam_m / adam_v, tf.train.Adam's Adam / Adam_1.
_BOOKKEEPING_SUFFIXES = ("/adam_m", "/adam_v", "/Adam", "/Adam_1")


def is_bookkeeping(name):
    """True for checkpoint entries that are training state rather than weights."""
    return (name in _BOOKKEEPING_NAMES or name.startswith(_BOOKKEEPING_PREFIXES)
            or any(part in name for part in _BOOKKEEPING_PARTS)
            or name.endswith(_BOOKKEEPING_SUFFIXES))


def checkpoint_prefix(folder):
    """The checkpoint prefix in `folder` (see the module docstring), or None."""
    for name in RELEASE_PREFIXES:
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
            f"which is current. Keep one, or name it after its release "
            f"({' or '.join(RELEASE_PREFIXES)}).")
    return found[0][: -len(".index")] if found else None


def _config_path(folder):
    names = registry.tf_config_files()
    prefix = checkpoint_prefix_or_none(folder)
    # A release's own config goes with its checkpoint, whatever else lies there:
    # xlnet_model.ckpt with xlnet_config.json.
    if prefix is not None:
        stem = os.path.basename(prefix).split("_model.ckpt")[0]
        names = sorted(names, key=lambda n: not n.startswith(stem + "_"))
    for name in [*names, GENERIC_CONFIG_FILE]:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def checkpoint_prefix_or_none(folder):
    try:
        return checkpoint_prefix(folder)
    except ValueError:
        return None


def _load_checkpoint(prefix):
    import tensorflow as tf

    try:
        return tf.train.load_checkpoint(prefix)
    except Exception as error:  # NotFoundError, DataLossError, OpError ...
        raise CorruptCheckpointError(
            f"Cannot read the TensorFlow checkpoint {prefix}: "
            f"{str(error).strip().splitlines()[0]}") from None


# What a download of a TF checkpoint fetches besides a family's config:
# `<prefix>.index` + data, and the `checkpoint` state file.
HUB_CHECKPOINT_FILES = ("*.index", "*.data-*", "checkpoint")


class TFCheckpoint(Checkpoint):
    """A TensorFlow checkpoint folder (see the module docstring)."""

    format_name = TF_CHECKPOINT

    @classmethod
    def detect(cls, folder):
        """A family's config next to a TF checkpoint (or one of the family
        config files alone, to build the architecture or the tokenizer)."""
        if any(os.path.isfile(os.path.join(folder, n)) for n in registry.tf_config_files()):
            return True
        try:
            prefix = checkpoint_prefix(folder)
        except ValueError:
            return True  # several checkpoints: `open_weights` says so
        return prefix is not None and _config_path(folder) is not None

    def _read_config(self):
        path = _config_path(self.folder)
        if path is None:
            wanted = " or ".join(registry.tf_config_files())
            raise FileNotFoundError(
                f"{self.folder} holds a TensorFlow checkpoint but no {wanted}, which says "
                "how big the model is. Put the config released with the checkpoint next "
                "to it.")
        config = files.read_json(path)
        if not isinstance(config, dict):
            raise ValueError(f"{path} is not a model config (a JSON object).")
        return config

    @property
    def prefix(self):
        return checkpoint_prefix(self.folder)

    def shapes(self):
        """`{name: shape}` of the checkpoint's weights (empty without one)."""
        if self.prefix is None:
            return {}
        return {n: tuple(s) for n, s in self._reader.get_variable_to_shape_map().items()
                if not is_bookkeeping(n)}

    @property
    def _reader(self):
        if "_tf_reader" not in self.__dict__:
            self.__dict__["_tf_reader"] = _load_checkpoint(self.prefix)
        return self.__dict__["_tf_reader"]

    def _find_family(self):
        """The family whose names the checkpoint follows; without a readable
        checkpoint, the family whose config this is."""
        try:
            names = list(self.shapes())
        except CorruptCheckpointError:
            names = []
        by_config = [f for f in registry.families() if f.format(TF_CHECKPOINT).claims_tf_config(self.config)]
        if not names:
            if not by_config:
                raise ValueError(f"{self.folder}: the config is not one kerabert knows "
                                 f"({', '.join(registry.tf_config_files())}).")
            return by_config[0]
        for family in registry.families():
            layout = family.format(TF_CHECKPOINT).tf_layout(names)
            if layout is None:
                continue
            if family not in by_config:
                config_kind = f"{by_config[0].title}'s" if by_config else "of no known family"
                raise ValueError(
                    f"{self.folder}: the config is {config_kind}, but the checkpoint "
                    f"({os.path.basename(self.prefix)}) holds {family.title} weights "
                    f"({family.format(TF_CHECKPOINT).DESCRIPTIONS[layout]}). Put the config "
                    "released with the checkpoint next to it.")
            return family
        raise ValueError(
            f"{self.prefix}: unrecognised variable names (e.g. {sorted(names)[:4]}). "
            "kerabert reads " + "; ".join(f.format(TF_CHECKPOINT).TF_DESCRIPTION
                                          for f in registry.families()) + ".")

    def describe(self):
        where = os.path.basename(self.prefix) if self.prefix else "no checkpoint"
        return f"{self.family_format.describe(self)} ({where})"

    def _open_loaders(self):
        prefix = self.prefix
        if prefix is None:
            raise FileNotFoundError(
                f"No TensorFlow checkpoint in {self.folder}: expected "
                f"{' or '.join(p + '.index' for p in RELEASE_PREFIXES)} and its .data-* files. "
                "Pass load_weights=False to build the architecture only.")
        reader = self._reader
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
        return weights, prefix, [n for n in names if is_bookkeeping(n)]
