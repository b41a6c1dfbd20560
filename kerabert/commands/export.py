"""`kerabert export PRESET OUT`: a SavedModel that answers raw strings.

The SavedModel runs with TensorFlow and tensorflow-text alone (TF Serving,
Vertex AI, `tf.saved_model.load`): a classifier's `serving_default(text)` and
`serving_pairs(text, text_pair)` give `logits` and `probabilities`; a
question answerer's `serving_default(question, context)` gives `answer`,
`start`, `end` and `score`; an embedder's `serving_default(text)` gives
`sequence_output`, `pooled_output` and `padding_mask`.
"""

import os
import shutil

from kerabert.cli import add_command
from kerabert.presets import files

KINDS = ("classifier", "question_answerer", "embedder")


def register(commands):
    parser = add_command(
        commands, "export", "write a SavedModel whose signatures take raw strings, for TF "
        "Serving, Vertex AI or tf.saved_model.load", description=__doc__)
    parser.add_argument("preset", help="the model: a kerabert preset, a Hugging Face or TF "
                                       "checkpoint folder, hf://owner/repo or a built-in name")
    parser.add_argument("output", help="the SavedModel folder to write (TF Serving wants "
                                       "<model>/<version>, e.g. export/my_model/1)")
    parser.add_argument("--task", choices=KINDS, default=None,
                        help="what to export (default: the head the preset holds, else an "
                             "embedder of the backbone)")
    parser.add_argument("--num-classes", type=int, default=None,
                        help="classifier head size, when the preset has no classifier head")
    parser.add_argument("--sequence-length", type=int, default=None,
                        help="tokens per text (classifier, embedder) or the preprocessor's "
                             "window length (question answerer) (default: the preset's, at "
                             "most 512)")
    qa = parser.add_argument_group("question answering (fixed in the signature, as "
                                   "answer()'s arguments)")
    qa.add_argument("--handle-impossible-answer", action="store_true",
                    help="let the empty answer win when it scores higher (SQuAD 2.0)")
    qa.add_argument("--max-seq-len", type=int, default=None,
                    help="tokens per window (default: the sequence length, at most 384)")
    qa.add_argument("--doc-stride", type=int, default=None,
                    help="tokens consecutive windows share (default: min(max-seq-len/2, 128))")
    qa.add_argument("--max-answer-len", type=int, default=None,
                    help="longest answer in tokens (default: 15)")
    qa.add_argument("--max-question-len", type=int, default=None,
                    help="questions are cut to this many tokens (default: 64)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace OUTPUT if it exists")
    parser.set_defaults(run=run)


def _kind(preset):
    """The task kind whose head the preset holds ("embedder" when none)."""
    from kerabert.presets import registry

    family = registry.family_of(preset.backbone_class())
    for kind in ("classifier", "question_answerer"):
        if preset.source.head_config(family.tasks[kind]) is not None:
            return kind
    return "embedder"


def _check_output(output, overwrite):
    """Refuses to write over an earlier export unless told to, before any
    model is loaded (the same rule and wording as `kerabert convert`)."""
    if files.exists(output) and not files.isdir(output):
        raise FileExistsError(f"{output} exists and is not a folder.")
    if files.isdir(output) and not overwrite:
        if files.is_remote(output):
            import tensorflow as tf

            entries = tf.io.gfile.listdir(output)
        else:
            entries = os.listdir(output)
        if entries:
            raise FileExistsError(
                f"{output} exists and is not empty; pass --overwrite to replace it.")


def _write(output, export):
    """Runs `export(folder)` so that `output` ends up holding only the new
    SavedModel. Locally it is written next to `output` and swapped in, so a
    failed export leaves the earlier one whole; an object store cannot rename
    a folder, so there the earlier one is deleted first."""
    if files.is_remote(output):
        import tensorflow as tf

        if tf.io.gfile.isdir(output):
            tf.io.gfile.rmtree(output)
        return export(output)
    # Not tempfile.mkdtemp: its folders are private (0700), and this one
    # becomes the SavedModel that a model server, maybe another user, reads.
    staging = f"{output}.kerabert-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    try:
        export(staging)
        if os.path.isdir(output):
            old = staging + ".old"
            os.replace(output, old)
            os.replace(staging, output)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run(args):
    output = files.absolute(args.output)
    _check_output(output, args.overwrite)

    from rich.console import Console

    from kerabert.presets import loader
    from kerabert.presets import registry

    console = Console()
    with console.status(f"Reading {args.preset} ..."):
        preset = loader.PresetLoader(args.preset)
        kind = args.task or _kind(preset)
        family = registry.family_of(preset.backbone_class())
    length = {} if args.sequence_length is None else {"sequence_length": args.sequence_length}
    qa_options = {k: getattr(args, k) for k in ("max_seq_len", "doc_stride", "max_answer_len",
                                                "max_question_len") if getattr(args, k)}
    if kind != "question_answerer" and (qa_options or args.handle_impossible_answer):
        raise ValueError("The question-answering options apply to --task question_answerer "
                         f"only (this export is a {kind}).")
    with console.status(f"Building the {kind} ..."):
        if kind == "embedder":
            model = preset.load_backbone(family.backbone_cls)
            preprocessor = preset.load_preprocessor(
                family.tasks["classifier"].preprocessor_cls,
                max_sequence_length=getattr(model, "max_sequence_length", None), **length)
        else:
            task_kwargs = dict(length)
            if kind == "classifier" and args.num_classes is not None:
                task_kwargs["num_classes"] = args.num_classes
            model = preset.load_task(family.tasks[kind], **task_kwargs)
    with console.status(f"Writing {args.output} ..."):
        if kind == "embedder":
            _write(output, lambda folder: model.export(folder, preprocessor=preprocessor))
        elif kind == "question_answerer":
            _write(output, lambda folder: model.export(
                folder, handle_impossible_answer=args.handle_impossible_answer, **qa_options))
        else:
            _write(output, model.export)
    console.print(f"Wrote a {type(model).__name__} {kind} SavedModel to {args.output}. Load it "
                  "with tf.saved_model.load after `import tensorflow_text`, or serve it with "
                  "TF Serving.", highlight=False)
    return 0
