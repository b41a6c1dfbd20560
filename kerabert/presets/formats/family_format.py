"""What a model family's module for one checkpoint format implements.

`Checkpoint` (a folder of some format) asks `family.format(format_name)` for
everything that depends on the model: so adding a format to a family is one
module under `kerabert/checkpoints/<family>/` plus a line in the family's
`formats` table, and no code here branches on a format's name.
"""

from typing import Protocol
from typing import runtime_checkable


@runtime_checkable
class FamilyFormat(Protocol):
    """One family's knowledge of one checkpoint format.

    `checkpoint` is the folder object (`kerabert.presets.formats.checkpoint.
    Checkpoint` subclass) of the format; `reader` a `TensorReader` over its
    tensors.
    """

    def layout(self, checkpoint) -> str:
        """The weight-table column the checkpoint's tensors are named in."""

    def describe(self, checkpoint) -> str:
        """One line for `kerabert convert`: what the folder holds."""

    def backbone_config(self, checkpoint) -> dict:
        """The backbone's constructor arguments, converted from the config."""

    def head_config(self, checkpoint, task_kind: str):
        """The settings of the checkpoint's `task_kind` head ("classifier",
        "question_answerer", "pretrainer"), or None when it has none."""

    def tokenizer(self, checkpoint, tokenizer_cls, **overrides):
        """A `tokenizer_cls` with the checkpoint's vocabulary and flags."""

    def preprocessor_config(self, checkpoint):
        """`(kerabert preprocessor class, config)` of a saved preprocessor, or
        None (only some formats save one)."""

    def load_weights(self, checkpoint, reader, backbone, task=None) -> None:
        """Reads the backbone (and `task`'s head) from `reader`, marking the
        tensors it knows but does not load."""

    def export(self, backbone, task, tokenizer, folder, **options) -> str:
        """Writes `backbone` (with `task`'s head) in this format; returns the
        folder's absolute path. Formats kerabert only reads raise
        `NotImplementedError` naming the formats it writes."""


# Answers most formats share; a module takes them as its own
# (`layout = family_format.layout_of_format`).

def layout_of_format(checkpoint):
    """Tensors named in the column of the format's own name."""
    return checkpoint.format_name


def folder_description(checkpoint):
    """The folder's own description."""
    return checkpoint.describe()


def no_preprocessor(checkpoint):
    """The format saves no preprocessor settings."""
    return None
