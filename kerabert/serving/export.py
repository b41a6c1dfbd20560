"""Writing SavedModels whose signatures take raw strings.

The SavedModel holds the model's variables, the tokenizer (its constants and
TensorFlow resources) and the traced signatures; loading it needs TensorFlow
and the tensorflow-text kernels only (`import tensorflow_text` registers
them), no kerabert, Keras or keras-hub code.
"""

import warnings

import keras

from kerabert.serving import classifier as classifier_lib
from kerabert.serving import embedder as embedder_lib
from kerabert.serving import question_answerer as question_answerer_lib

def export_task(task, filepath, *, handle_impossible_answer=False, max_seq_len=None,
                doc_stride=None, max_answer_len=None, max_question_len=None,
                align_to_words=True, batch_size=32, verbose=False):
    """Writes `task` to `filepath` as a SavedModel for TF Serving, Vertex AI or
    `tf.saved_model.load`.

    Signatures (every input (B,) tf.string, any B including 0):
    - classifiers (`BertClassifier`, `XLNetClassifier`):
      `serving_default(text)` and `serving_pairs(text, text_pair)` ->
      `logits`, `probabilities` (B, C) float32, as `task.predict` (see
      `kerabert.serving.classifier` for tasks built with
      `activation="softmax"`).
    - question answerers (`BertQuestionAnswerer`, `XLNetQuestionAnswerer`):
      `serving_default(question, context)` -> `answer` (B,) string, `start`,
      `end` (B,) int64 character offsets into the context, `score` (B,)
      float32: `task.answer(question=..., context=...)`'s answer with
      `top_k=1` and the options below (see `kerabert.serving.question_answerer`).
    - a task without a preprocessor: Keras' own export (`Model.export(filepath,
      format="tf_saved_model")`), whose `serve` / `serving_default` endpoint
      takes the packed token-id inputs.

    Args:
      task: a kerabert task.
      filepath: str or path-like, the SavedModel directory to write.
      handle_impossible_answer, max_seq_len, doc_stride, max_answer_len,
        max_question_len, align_to_words: question answerers only; `answer()`'s
        arguments, fixed in the signature (defaults: `answer()`'s).
      batch_size: question answerers only: windows per model call (as
        `answer(batch_size=...)`).
      verbose: print the signatures once written.
    Returns: `filepath`.
    Raises:
      TypeError: for a task kind with no raw-text signature.
      ValueError: for options that do not apply, or settings `answer()` rejects.
    """
    from kerabert.tasks.bert_question_answerer import BertQuestionAnswerer
    from kerabert.tasks.classifier import Classifier
    from kerabert.tasks.xlnet_question_answerer import XLNetQuestionAnswerer

    qa_options = dict(max_seq_len=max_seq_len, doc_stride=doc_stride,
                      max_answer_len=max_answer_len, max_question_len=max_question_len)
    is_qa = isinstance(task, (BertQuestionAnswerer, XLNetQuestionAnswerer))
    given = [k for k, v in qa_options.items() if v is not None]
    if handle_impossible_answer:
        given.append("handle_impossible_answer")
    if align_to_words is not True:
        given.append("align_to_words")
    if given and not (is_qa and task.preprocessor is not None):
        reason = ("it has no preprocessor, so it is exported with token-id inputs"
                  if is_qa else "they configure the question-answering signature")
        raise ValueError(
            f"{', '.join(given)} do not apply to this {type(task).__name__}: {reason}. "
            "Drop them, or export a question answerer that has a preprocessor.")

    if task.preprocessor is None:
        # `keras.Model.export` named explicitly: `Task.export` may route here.
        keras.Model.export(task, filepath, format="tf_saved_model", verbose=verbose)
        return filepath

    if isinstance(task, Classifier):
        endpoints = classifier_lib.classifier_endpoints(task, task.preprocessor)
    elif is_qa:
        if int(batch_size) < 1:
            raise ValueError(f"batch_size (windows per model call) must be >= 1, got "
                             f"{batch_size}.")
        settings = task.answer_settings(**qa_options)
        _check_question_room(settings)
        decoder = "beam" if isinstance(task, XLNetQuestionAnswerer) else "pipeline"
        endpoints = question_answerer_lib.question_answerer_endpoints(
            task, task.preprocessor.tokenizer, decoder, settings, bool(handle_impossible_answer),
            align_to_words=bool(align_to_words), batch_size=int(batch_size))
    else:
        raise TypeError(
            f"kerabert has no raw-text serving signature for a {type(task).__name__} "
            "(supported: BertClassifier, XLNetClassifier, BertQuestionAnswerer, "
            "XLNetQuestionAnswerer). Build it with preprocessor=None to export its "
            "token-id inputs with Keras' Model.export, or use export_backbone for "
            "embeddings.")
    _write(task, endpoints, task.preprocessor.tokenizer.tf_resources(), filepath, verbose)
    return filepath


def export_backbone(backbone, preprocessor, filepath, *, verbose=False):
    """Writes a raw-text embedding SavedModel: `serving_default(text)` ->
    `sequence_output` (B, L, H), `pooled_output` (B, H) float32 and
    `padding_mask` (B, L) int32 (see `kerabert.serving.embedder`).

    Args:
      backbone: a `BertBackbone` or `XLNetBackbone`.
      preprocessor: the matching `BertPreprocessor` / `XLNetPreprocessor`
        (its `sequence_length` is L), or None to export the backbone's
        token-id inputs with Keras' `Model.export`.
      filepath: the SavedModel directory to write.
    Returns: `filepath`.
    """
    from kerabert.backbones.bert_backbone import BertBackbone
    from kerabert.backbones.xlnet_backbone import XLNetBackbone
    from kerabert.preprocessors.bert_preprocessor import BertPreprocessor
    from kerabert.preprocessors.xlnet_preprocessor import XLNetPreprocessor

    if preprocessor is None:
        keras.Model.export(backbone, filepath, format="tf_saved_model", verbose=verbose)
        return filepath
    expected = {BertBackbone: BertPreprocessor, XLNetBackbone: XLNetPreprocessor}
    wanted = next((p for b, p in expected.items() if isinstance(backbone, b)), None)
    if wanted is None:
        raise TypeError(f"export_backbone takes a BertBackbone or an XLNetBackbone, got a "
                        f"{type(backbone).__name__}.")
    if not isinstance(preprocessor, wanted):
        raise TypeError(
            f"A {type(backbone).__name__} reads single texts packed by a {wanted.__name__} "
            f"(e.g. {wanted.__name__}.from_preset(...)), got a {type(preprocessor).__name__}.")
    _write(backbone, embedder_lib.embedder_endpoints(backbone, preprocessor),
           preprocessor.tokenizer.tf_resources(), filepath, verbose)
    return filepath


def _write(model, endpoints, resources, filepath, verbose):
    """Traces `endpoints` (`{name: (fn, input_signature)}`) and writes them
    with `model`'s variables and the tokenizer's `resources`."""
    if not model.built:
        raise ValueError(f"The {type(model).__name__} is not built; call it on data once "
                         "(or load it with from_preset) before exporting.")
    archive = keras.export.ExportArchive()
    archive.track(model)
    for resource in resources:
        # Saved with the archive, so the loaded signatures recreate it.
        archive.track(resource)
    for name, (fn, signature) in endpoints.items():
        archive.add_endpoint(name, fn, input_signature=signature)
    archive.write_out(filepath, verbose=verbose)


def _check_question_room(settings):
    """A window holds `max_seq_len - question tokens - 3` context tokens, and
    consecutive windows share `doc_stride` of them, so a question of more than
    `max_seq_len - 4 - doc_stride` tokens leaves no room to advance: `answer()`
    raises a ValueError for it, the signature answers ("", 0, 0, 0.0). Warn
    at export time when `max_question_len` lets such questions through."""
    longest = settings["max_seq_len"] - 4 - settings["doc_stride"]
    if settings["max_question_len"] > longest:
        warnings.warn(
            f"With max_seq_len={settings['max_seq_len']} and doc_stride="
            f"{settings['doc_stride']}, a question of more than {max(longest, 0)} tokens "
            "leaves no room to window the context: answer() raises a ValueError for it "
            "and the exported signature answers ('', 0, 0, 0.0). Lower max_question_len "
            f"(now {settings['max_question_len']}) or doc_stride, or raise max_seq_len, "
            "to avoid it.", stacklevel=3)
