"""Base class of the checkpoint folders kerabert converts (Hugging Face,
TensorFlow): one object per folder, which reads its config and opens its
weights once however many times a load asks."""

import functools


class Checkpoint:
    """A folder in another library's format.

    Subclasses implement `detect`, `_read_config`, `_find_family`,
    `_open_loaders` and `describe`. Everything that depends on the model is
    asked of the family's module for this format (`family.format(format_name)`,
    a `FamilyFormat`).

    Attributes:
      folder: the folder.
      format_name: a format name of `kerabert.presets.formats`.
      config: the folder's model config (dict), read once.
      family: the `registry.Family` whose model the folder holds.
      layout: the weight-map format its tensors are named in ("huggingface",
        "tf1", the Model Garden layouts, ...).
    """

    format_name = None

    def __init__(self, folder):
        self.folder = folder

    @classmethod
    def detect(cls, folder):
        """Whether `folder` is in this format."""
        raise NotImplementedError

    def describe(self):
        """One line for `kerabert convert`: what the folder holds."""
        raise NotImplementedError

    @functools.cached_property
    def config(self):
        return self._read_config()

    @functools.cached_property
    def family(self):
        return self._find_family()

    @property
    def family_format(self):
        """The family's `FamilyFormat` module for this folder's format."""
        return self.family.format(self.format_name)

    @property
    def layout(self):
        return self.family_format.layout(self)

    @functools.cached_property
    def _loaders(self):
        """`({name: zero-argument loader}, source, skipped names)`, opened once."""
        return self._open_loaders()

    def tensor_names(self):
        """The names of the folder's weight tensors (nothing is read)."""
        return list(self._loaders[0])

    def open_weights(self):
        """A fresh `TensorReader` (fresh bookkeeping) over the weights."""
        from kerabert.presets.tensor_reader import TensorReader

        loaders, source, skipped = self._loaders
        return TensorReader(loaders, source, skipped=skipped)

    # --- what the loader asks of every source (see `KerabertPreset`) ----------

    def backbone_class(self):
        return self.family.backbone_cls

    def backbone_config(self):
        """The backbone's constructor arguments, converted from the config."""
        return self.family_format.backbone_config(self)

    def tokenizer_class(self):
        return self.family.tokenizer_cls

    def tokenizer(self, tokenizer_cls, **overrides):
        return self.family_format.tokenizer(self, tokenizer_cls, **overrides)

    def preprocessor_config(self):
        """(kerabert preprocessor class, its config) the folder's saved
        preprocessor converts to, or None."""
        return self.family_format.preprocessor_config(self)

    def head_config(self, task_cls):
        """The settings of the checkpoint's head of `task_cls`'s kind, or None."""
        return self.family_format.head_config(self, task_cls.task_kind)

    def load_weights(self, backbone, task=None, ignore_unused=False):
        """One pass over the checkpoint: the backbone, then `task`'s head when
        given. Returns the readers (for reporting what was converted)."""
        reader = self.open_weights()
        self.family_format.load_weights(self, reader, backbone, task)
        reader.check_consumed(ignore_unused=ignore_unused)
        return [reader]
