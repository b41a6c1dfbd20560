"""The preset façade of kerabert tasks: loading, saving, uploading and
exporting a task as a folder other tools read."""

import keras


class PresetMethods:
    """Preset and export methods of a kerabert task (a mixin of `keras.Model`
    subclasses; see `kerabert.tasks.task.TaskMixin`).

    The head hooks (`head_config_from`, `require_head_config`,
    `head_mismatch`) let the preset loader decide whether a saved head fits
    the task being built; a task with a sized head overrides them.
    """

    @classmethod
    def head_config_from(cls, task_config):
        """The head-size entries of a saved task config (e.g. `num_classes`)."""
        return {}

    @classmethod
    def require_head_config(cls, kwargs, saved_head, folder):
        """`from_preset`'s task keyword arguments, completed or checked against
        the saved head (`head_config_from`) of the preset in `folder`; the
        base task needs no head setting and returns them as they are."""
        return kwargs

    @classmethod
    def head_mismatch(cls, saved_head, task):
        """`[(setting, saved value, this task's value)]` for each head setting
        in which a saved head (`head_config_from`) differs from `task`'s; a
        saved head loads only when there is none."""
        return []

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Builds the task from any preset kerabert reads.

        Each keyword argument goes to the first of these whose constructor
        takes it: the task (e.g. `num_classes`, `dropout`), the preprocessor
        (`sequence_length`, `truncate`, `doc_stride`, ...) and its tokenizer
        (`lowercase`, `strip_accents`, ...), the backbone (`dtype`, ...).
        `preprocessor=None` builds the task without a preprocessor;
        `ignore_unused_weights=True` loads a checkpoint with tensors the model
        has no place for. Any other keyword raises a `TypeError` that lists the
        valid ones. Head weights load when the preset holds the same kind of
        head with the same size.
        """
        from kerabert.presets import loader

        return loader.load_task(cls, preset, load_weights=load_weights, **kwargs)

    def save_to_preset(self, preset_dir):
        """Writes backbone, tokenizer, preprocessor and head into one folder."""
        from kerabert.presets import saver

        with saver.PresetWriter(preset_dir) as writer:
            writer.write_task(self)

    def push_to_hub(self, repo_id, private=False, token=None, commit_message=None, *,
                    metrics=None, base_model=None):
        """Saves this task as a preset and uploads it to the Hugging Face Hub, with a
        model card (`metrics`: dict `{name: value}`; `base_model`: the Hub repo or
        kerabert preset name it was tuned from). See `Backbone.push_to_hub`."""
        from kerabert.presets import hub

        return hub.push_to_hub(self, repo_id, private=private, token=token,
                               commit_message=commit_message, metrics=metrics,
                               base_model=base_model)

    def export_to_keras_hub(self, folder, tokenizer=None, allow_numerical_change=False):
        """Writes a keras-hub preset folder that `keras_hub.models.*.from_preset`
        loads: a `BertClassifier` as `BertTextClassifier` (with its
        preprocessor), a `BertPretrainer` as `BertMaskedLM` (keras-hub has no
        next-sentence head; it is left out, with a warning). keras-hub's BERT
        always uses the tanh GELU: a model it cannot reproduce (e.g. the exact
        GELU of transformers checkpoints) is refused with the measured output
        difference, unless `allow_numerical_change=True` (then it warns with
        it). The tokenizer defaults to the preprocessor's. Returns the folder's
        absolute path."""
        from kerabert.presets import keras_hub_export

        return keras_hub_export.export_to_keras_hub(self, folder, tokenizer,
                                                    allow_numerical_change)

    def export_to_transformers(self, folder, tokenizer=None):
        """Writes a `transformers` folder (`BertForSequenceClassification`,
        `BertForQuestionAnswering`, `BertForPreTraining`,
        `XLNetForSequenceClassification`, `XLNetForQuestionAnswering`,
        `XLNetLMHeadModel`) that `transformers` loads with the class
        named in its config (for XLNet QA use `XLNetForQuestionAnswering`:
        `AutoModelForQuestionAnswering` builds the *Simple* head instead) and
        `AutoTokenizer.from_pretrained(folder)`. The tokenizer defaults to
        the preprocessor's. Returns the folder's absolute path."""
        from kerabert.presets import transformers_export

        return transformers_export.export_to_transformers(self, folder, tokenizer)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               **kwargs):
        """Writes a SavedModel whose signatures take raw strings (TF Serving,
        Vertex AI, `tf.saved_model.load` with only TensorFlow and
        tensorflow-text imported): for a classifier, `serving_default(text)` and
        `serving_pairs(text, text_pair)` -> `logits`, `probabilities`; for a
        question answerer, `serving_default(question, context)` -> `answer`,
        `start`, `end`, `score`, windowing long contexts in the graph (options:
        `handle_impossible_answer`, `max_seq_len`, `doc_stride`,
        `max_answer_len`, `max_question_len`, `align_to_words`, `batch_size`).
        See `kerabert.serving.export_task`.
        See `kerabert.serving.export_task`.

        A task without a preprocessor, another `format`, or an explicit
        `input_signature` get Keras' own `Model.export` (token-id inputs).
        """
        if format != "tf_saved_model" or input_signature is not None or self.preprocessor is None:
            return keras.Model.export(self, filepath, format=format, verbose=verbose,
                                      input_signature=input_signature, **kwargs)
        from kerabert import serving

        return serving.export_task(self, filepath, verbose=bool(verbose), **kwargs)
