"""Base class of kerabert backbones: a functional Keras model plus preset I/O."""


import keras


class Backbone(keras.Model):
    """A functional model whose constructor arguments are its config.

    Subclasses build their layers, call `super().__init__(inputs=..., outputs=...)`
    and store their arguments; `get_config()` returns those arguments, so a
    backbone serialises as a short, readable dict (and `.keras` files round-trip).
    """

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = keras.dtype_policies.deserialize(config["dtype"])
        return cls(**config)

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Builds the backbone stored in `preset`.

        Args:
          preset: a kerabert preset folder or a Hugging Face model folder.
          load_weights: bool. If False, the architecture is built with random
            weights.
          **kwargs: override config entries (e.g. `dtype="mixed_bfloat16"`,
            `dropout=0.0`).
        """
        from kerabert.presets import loader

        return loader.load_backbone(cls, preset, load_weights=load_weights, **kwargs)

    def save_to_preset(self, preset_dir):
        """Writes `config.json`, `model.weights.h5` and `metadata.json`, atomically."""
        from kerabert.presets import saver

        with saver.PresetWriter(preset_dir) as writer:
            writer.write_backbone(self)

    def push_to_hub(self, repo_id, private=False, token=None, commit_message=None, *,
                    tokenizer=None, metrics=None, base_model=None):
        """Saves this backbone as a preset and uploads it to the Hugging Face Hub.

        Args:
          repo_id: "owner/name" of the model repo (created if missing).
          private: bool, for a new repo.
          token: a write token; default: HF_TOKEN or the saved login.
          commit_message: str.
          tokenizer: saved into the same preset, so `from_preset("hf://...")`
            can build tasks from it.
          metrics: dict `{name: value}` for the model card.
          base_model: the Hub repo (or kerabert preset name) this was tuned from.

        Returns huggingface_hub's `CommitInfo`; raises `kerabert.HubError` with a
        clear message (never containing the token) on 401/403/404 or no network.
        """
        from kerabert.presets import hub

        return hub.push_to_hub(self, repo_id, private=private, token=token,
                               commit_message=commit_message, metrics=metrics,
                               base_model=base_model, extra_objects=[tokenizer])

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               preprocessor=None, **kwargs):
        """With `preprocessor` (a `BertPreprocessor` / `XLNetPreprocessor`),
        writes an embedding SavedModel taking raw strings:
        `serving_default(text)` -> `sequence_output` (B, L, H), `pooled_output`
        (B, H), `padding_mask` (B, L) (see `kerabert.serving.export_backbone`).
        Without one, Keras' own `Model.export` (token-id inputs)."""
        if preprocessor is None or format != "tf_saved_model" or input_signature is not None:
            return super().export(filepath, format=format, verbose=verbose,
                                  input_signature=input_signature, **kwargs)
        from kerabert import serving

        return serving.export_backbone(self, preprocessor, filepath, verbose=bool(verbose))

    def export_to_keras_hub(self, folder, tokenizer=None, allow_numerical_change=False):
        """Writes a keras-hub preset folder (`keras_hub.models.BertBackbone` or
        `XLNetBackbone`, and keras-hub's `BertTokenizer` when `tokenizer` is a
        `BertTokenizer`). keras-hub fixes settings kerabert leaves open (BERT's
        tanh GELU; XLNet's bidirectional attention without clamping): a model
        it cannot reproduce is refused with the measured output difference,
        unless `allow_numerical_change=True` (then it warns with it). Returns
        the folder's absolute path."""
        from kerabert.presets import keras_hub_export

        return keras_hub_export.export_to_keras_hub(self, folder, tokenizer,
                                                    allow_numerical_change)

    def export_to_transformers(self, folder, tokenizer=None):
        """Writes a `transformers` folder (config.json, model.safetensors, vocab.txt,
        tokenizer files) that `AutoModel.from_pretrained(folder)` and
        `AutoTokenizer.from_pretrained(folder)` load. `tokenizer` is required (it
        provides vocab.txt). Returns the folder's absolute path."""
        from kerabert.presets import transformers_export

        return transformers_export.export_to_transformers(self, folder, tokenizer)
