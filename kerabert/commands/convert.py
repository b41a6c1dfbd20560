"""`kerabert convert SOURCE DEST`: any checkpoint kerabert reads -> a kerabert preset.

SOURCE is anything `from_preset` takes (a Hugging Face folder with safetensors or
pytorch_model.bin, a Google TF1 or Model Garden TF2 checkpoint folder, a keras-hub
preset folder, a kerabert preset, hf://owner/repo, kaggle://owner/model/keras/name,
a preset name). DEST receives the backbone and tokenizer, or with `--task`
a whole task preset (backbone, preprocessor, head).
"""

import collections
import os

from kerabert.cli import add_command
from kerabert.commands import models


def register(commands):
    parser = add_command(
        commands, "convert", "convert a checkpoint (Hugging Face, TF1, Model Garden, keras-hub) "
        "into a kerabert preset", description=__doc__)
    parser.add_argument("source", help="the checkpoint: a folder, hf://owner/repo, "
                                       "kaggle://owner/model/framework/variation or a "
                                       "built-in name")
    parser.add_argument("dest", help="folder to write the kerabert preset to")
    parser.add_argument("--task", choices=models.TASK_KINDS,
                        help="write a task preset (backbone, preprocessor, head) instead of "
                             "the backbone and tokenizer")
    parser.add_argument("--num-classes", type=int, default=None,
                        help="classifier head size (not needed when SOURCE has a matching head)")
    parser.add_argument("--sequence-length", type=int, default=None,
                        help="the task preprocessor's sequence length (default: 512, or "
                             "the model's maximum if smaller)")
    casing = parser.add_mutually_exclusive_group()
    casing.add_argument("--lowercase", dest="lowercase", action="store_true", default=None,
                        help="lower-case text (default: what SOURCE says or implies)")
    casing.add_argument("--cased", dest="lowercase", action="store_false",
                        help="keep case (e.g. a cased TF1 checkpoint in a folder not named so)")
    parser.add_argument("--ignore-unused-weights", action="store_true",
                        help="convert even if SOURCE has tensors the model has no place for")
    parser.add_argument("--overwrite", action="store_true", help="replace DEST if it exists")
    parser.set_defaults(run=run)


def _group(names):
    """Counts names by their first two path components ("cls/predictions": 5)."""
    counts = collections.Counter()
    for name in names:
        parts = name.replace(".", "/").split("/")
        counts["/".join(parts[:2])] += 1
    return counts


def run(args):
    from rich.console import Console

    return _convert(args, Console())


def _convert(args, console):
    from rich.progress import BarColumn
    from rich.progress import MofNCompleteColumn
    from rich.progress import Progress
    from rich.progress import SpinnerColumn
    from rich.progress import TextColumn
    from rich.progress import TimeElapsedColumn
    from rich.table import Table

    dest = os.path.abspath(args.dest)
    if os.path.isdir(dest) and os.listdir(dest) and not args.overwrite:
        raise FileExistsError(f"{dest} exists and is not empty; pass --overwrite to replace it.")
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise FileExistsError(f"{dest} exists and is not a folder.")

    with console.status("Importing kerabert ..."):
        
        import kerabert
        from kerabert.presets import loader
        from kerabert.presets import saver
        from kerabert.presets import tensor_reader


    with console.status(f"Reading {args.source} ..."):
        preset = loader.PresetLoader(args.source)
        folder, description = preset.folder, preset.describe()
    console.print(f"[bold]Source[/]  {folder}\n[bold]Format[/]  {description}", highlight=False)

    tokenizer_kwargs = {} if args.lowercase is None else {"lowercase": args.lowercase}
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task("Building the model", total=None)

        def on_read(reader, name):
            progress.update(bar, description="Converting tensors", total=len(reader))
            progress.advance(bar)

        with tensor_reader.observe_reads(on_read):
            if args.task:
                length = args.sequence_length or min(
                    512, preset.backbone_config().get("max_sequence_length", 512))
                task_kwargs = dict(tokenizer_kwargs, sequence_length=length,
                                   ignore_unused_weights=args.ignore_unused_weights)
                if args.num_classes is not None:
                    task_kwargs["num_classes"] = args.num_classes
                model = preset.load_task(models.task_class(preset, args.task), **task_kwargs)
                backbone, tokenizer = model.backbone, model.preprocessor.tokenizer
            else:
                model = backbone = preset.load_backbone(
                    kerabert.Backbone, ignore_unused_weights=args.ignore_unused_weights)
                tokenizer = preset.load_tokenizer(kerabert.Tokenizer, **tokenizer_kwargs)
        readers = preset.readers
        done = sum(len(reader.used) for reader in readers)
        progress.update(bar, description="Converted", total=done, completed=done)

    with console.status(f"Writing {dest} ..."):
        with saver.PresetWriter(dest, carry_over=False) as writer:
            if args.task:
                writer.write_task(model)
            else:
                writer.write_backbone(backbone)
                writer.write_tokenizer(tokenizer)

    table = Table(title=f"kerabert preset written to {dest}", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("model", type(model).__name__)
    table.add_row("size", f"{backbone.num_layers} layers, hidden {backbone.hidden_dim}, "
                          f"{backbone.num_heads} heads, {backbone.count_params():,} parameters")
    table.add_row("activation", str(backbone.activation))
    flags = {k: getattr(tokenizer, k) for k in ("lowercase", "strip_accents",
                                                "tokenize_chinese_chars") if hasattr(tokenizer, k)}
    table.add_row("tokenizer", f"{type(tokenizer).__name__} {tokenizer.vocabulary_size()} tokens, "
                  + ", ".join(f"{k}={v}" for k, v in flags.items()))
    for reader in readers:
        table.add_row("tensors", f"{len(reader.used)} of {len(reader)} converted")
        reasons = collections.Counter(reader.unused.values())
        for reason, count in sorted(reasons.items()):
            table.add_row("left out", f"{count} tensor{'s' * (count != 1)}: {reason}")
        left = reader.left_over()
        if left:
            table.add_row("not converted", ", ".join(
                f"{group}/* ({count})" for group, count in sorted(_group(left).items()))
                + " (--ignore-unused-weights)")
        if reader.skipped:
            shown = ", ".join(reader.skipped[:3]) + (" ..." if len(reader.skipped) > 3 else "")
            table.add_row("skipped", f"{len(reader.skipped)} training-state or buffer "
                          f"entr{'y' if len(reader.skipped) == 1 else 'ies'} ({shown})")
    table.add_row("files", "  ".join(sorted(os.listdir(dest))))
    console.print(table)
    return 0
