"""Each model family's checkpoint knowledge (configs, tokenizers, heads and the
weight tables of every format it reads and writes). Importing this package
registers the families with `kerabert.presets.registry`."""

from kerabert.checkpoints import bert
from kerabert.checkpoints import xlnet
from kerabert.presets.registry import list_presets

__all__ = ["bert", "list_presets", "xlnet"]
