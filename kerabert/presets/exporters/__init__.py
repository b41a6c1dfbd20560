"""Writers of other libraries' checkpoint formats (the reverse of `converters/`)."""


def transformers_exporter(backbone):
    """The module that exports `backbone`'s family to a `transformers` folder."""
    from kerabert.backbones.bert_backbone import BertBackbone
    from kerabert.backbones.xlnet_backbone import XLNetBackbone

    if isinstance(backbone, BertBackbone):
        from kerabert.presets.exporters import huggingface_bert

        return huggingface_bert
    if isinstance(backbone, XLNetBackbone):
        from kerabert.presets.exporters import huggingface_xlnet

        return huggingface_xlnet
    raise NotImplementedError(
        f"Exporting a {type(backbone).__name__} to transformers is not supported yet.")
