"""SavedModel export with raw-string signatures, for TF Serving, Vertex AI or
plain `tf.saved_model.load`.

    import kerabert.serving
    kerabert.serving.export_task(classifier, "export/1")

    # In the server: TensorFlow and tensorflow-text only.
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tokenizer kernels)
    model = tf.saved_model.load("export/1")
    model.signatures["serving_default"](text=tf.constant(["a good movie"]))

`export_task` writes a task (classifier or question answerer; see its
docstring for the signatures), `export_backbone` a backbone with its
preprocessor (embeddings). The in-graph question-answering windows live in
`kerabert.preprocessors.question_answerer_windows`.
"""

from kerabert.serving.export import export_backbone
from kerabert.serving.export import export_task

__all__ = ["export_backbone", "export_task"]
