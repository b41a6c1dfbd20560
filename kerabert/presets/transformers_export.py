"""Writing a kerabert model as a Hugging Face `transformers` folder.

The model's family (found in the registry) provides the config, the
architecture of each task head, the tokenizer files and the weight tables; the
tensors are the `huggingface` column of those tables, so an export is the exact
reverse of loading the same folder.
"""

from kerabert.presets import registry
from kerabert.presets import weight_map
from kerabert.presets.formats import HUGGINGFACE
from kerabert.presets.formats import huggingface_checkpoint

FORMAT = HUGGINGFACE


def export_to_transformers(model, folder, tokenizer=None):
    """Writes `model` (a backbone or a task) and `tokenizer` (default: a task's
    preprocessor's) as a transformers folder; returns its absolute path."""
    fmt, backbone, task, tokenizer = registry.export_parts(model, tokenizer, HUGGINGFACE,
                                                           "transformers")
    return fmt.export(backbone, task, tokenizer, folder)


def write(module, backbone, task, tokenizer, folder):
    """The export of a family's Hugging Face format `module`, which provides
    the config (`transformers_config`, `transformers_head_config`), the
    architecture of each head (`EXPORT_ARCHITECTURES`), the weight tables, the
    tokenizer it takes (`EXPORT_TOKENIZER`: class path, vocabulary file, how
    messages name the model) and its files (`write_transformers_tokenizer`)."""
    tokenizer_cls, vocabulary_file, model = module.EXPORT_TOKENIZER
    check_tokenizer(tokenizer, backbone, registry.import_path(tokenizer_cls), vocabulary_file,
                    model)
    config = module.transformers_config(backbone, tokenizer)
    tensors, prefix = {}, ""
    if task is not None:
        architecture = module.EXPORT_ARCHITECTURES.get(task.task_kind)
        if architecture is None:
            raise NotImplementedError(
                f"Exporting a {type(task).__name__} (task kind {task.task_kind!r}) to "
                "transformers is not supported yet; export its backbone with "
                "task.backbone.export_to_transformers(...).")
        config.update(module.transformers_head_config(task), architectures=[architecture])
        tensors.update(weight_map.save(task, module.head_weights(task), FORMAT))
        prefix = module.BASE_PREFIX
    tensors.update(weight_map.save(backbone, module.backbone_weights(backbone), FORMAT, prefix))
    return huggingface_checkpoint.write_folder(
        folder, dict(sorted(config.items())), tensors,
        lambda tmp: module.write_transformers_tokenizer(tokenizer, tmp, backbone))


def exporter(module_name):
    """The `export` of the family format module `module_name`: `write` with
    that module's parts."""
    import sys

    def export(backbone, task, tokenizer, folder):
        """Writes a transformers folder of the backbone, or of `task`'s head
        architecture (see `EXPORT_ARCHITECTURES`)."""
        return write(sys.modules[module_name], backbone, task, tokenizer, folder)
    return export


def check_tokenizer(tokenizer, backbone, tokenizer_cls, vocabulary_file, model):
    """A tokenizer is given, is a `tokenizer_cls`, and fits the embedding;
    `model` names the model in messages ("a BERT model")."""
    name = tokenizer_cls.__name__
    if tokenizer is None:
        raise ValueError(
            f"export_to_transformers needs a tokenizer to write {vocabulary_file} and the "
            f"tokenizer files: pass tokenizer=kerabert.{name}(...) (or {name}.from_preset(...)).")
    if not isinstance(tokenizer, tokenizer_cls):
        article = "an" if name[0] in "AEIOUX" else "a"
        raise ValueError(f"export_to_transformers of {model} needs {article} {name}, got a "
                         f"{type(tokenizer).__name__}.")
    tokenizer.check_vocabulary()
    size = tokenizer.vocabulary_size()
    if size > backbone.vocabulary_size:
        raise ValueError(f"The tokenizer has {size} tokens but the backbone's embedding only "
                         f"{backbone.vocabulary_size}; they do not belong together.")
