"""kerabert.data.glue: GLUE / XNLI / IMDB / Yelp-5 readers, metrics, submissions.

The fixture files under tests/fixtures/glue are made-up sentences in the layouts
of the real downloads (CoLA train/dev without a header, MRPC with a byte order
mark and literal quotes, MNLI with 12 / 16 / 10 columns, QQP and QNLI with
malformed lines, ...).
"""

import csv
import os
import shutil
import warnings

import numpy as np
import pytest
import scipy.stats
import sklearn.metrics
import tensorflow as tf

from kerabert.data import glue

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "glue")

FOLDERS = {"CoLA": "CoLA", "SST-2": "SST-2", "MRPC": "MRPC", "STS-B": "STS-B", "QQP": "QQP",
           "MNLI": "MNLI", "QNLI": "QNLI", "RTE": "RTE", "WNLI": "WNLI", "AX": "diagnostic",
           "XNLI": "XNLI", "IMDB": "aclImdb", "Yelp5": "yelp_review_full_csv"}


def load(task, split, **options):
    folder = FOLDERS[glue.get_task(task).name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # malformed-line warnings are tested on their own
        return glue.load(task, os.path.join(FIXTURES, folder), split, **options)


# --- every task and split reads --------------------------------------------------


ALL_SPLITS = [(name, split) for name, spec in glue.TASKS.items()
              for split in list(spec.splits) + list(spec.split_aliases)]


@pytest.mark.parametrize("task,split", ALL_SPLITS)
def test_every_task_and_split_has_a_fixture_that_reads(task, split):
    options = {"language": "zh"} if task == "XNLI" else {}
    data = load(task, split, **options)
    spec = glue.TASKS[task]
    assert data.task == task and len(data) > 0
    assert data.label_names == (None if spec.label_names is None else list(spec.label_names))
    assert len(data.ids) == len(data)
    if spec.pair:
        assert isinstance(data.x, tuple) and len(data.x) == 2
        assert len(data.x[0]) == len(data.x[1]) == len(data)
    else:
        assert isinstance(data.x, list) and len(data.x) == len(data)
    texts = data.x[0] + data.x[1] if spec.pair else data.x
    assert all(isinstance(t, str) for t in texts)
    if data.y is not None:
        assert data.y.shape == (len(data),)
        assert data.y.dtype == (np.float32 if spec.label_names is None else np.int32)


# --- each file layout, field by field ----------------------------------------------


def test_cola_train_dev_without_header_test_with_header():
    train = load("cola", "train")
    assert train.x == ["The committee approved the new budget on Friday.",
                       "Budget the approved committee new the.",
                       "Which book did you say that Mary wrote?"]
    assert train.y.tolist() == [1, 0, 1]
    assert train.ids == ["0", "1", "2"]
    assert train.skipped == 0 and train.split == "train"
    dev = load("CoLA", "dev")
    assert dev.x == ["The children seems happy with their toys.",
                     "The children seem happy with their toys."]
    assert dev.y.tolist() == [0, 1]
    test = load("COLA", "test")
    assert test.x == ["She gave the letter to him yesterday.", "Him gave she the letter."]
    assert test.y is None and test.ids == ["0", "1"]
    assert test.label_names == ["0", "1"]


def test_sst2_keeps_the_text_as_is():
    train = load("sst-2", "train")
    assert train.x == ["a warm , funny and surprisingly tender film ",
                       "the plot wanders off and never comes back ",
                       "it 's \" charming \" in the worst way "]
    assert train.y.tolist() == [1, 0, 0]
    assert load("sst2", "dev").x == ["a small gem of a movie . "]
    test = load("SST-2", "test")
    assert test.x == ["nothing here works . ", "an absolute delight from start to finish . "]
    assert test.ids == ["0", "1"] and test.y is None


def test_mrpc_literal_quotes_and_byte_order_mark():
    train = load("mrpc", "train")
    assert train.x == (
        ['The company said "sales rose 5 percent" in the quarter .',
         '"We are not leaving," the mayor told reporters .'],
        ["Sales rose 5 percent in the quarter , the company said .",
         "The mayor said the city would review the plan next year ."])
    assert train.y.tolist() == [1, 0]
    assert train.ids == ["0", "1"]
    dev = load("MRPC", "dev")
    assert dev.x == (["Shares closed 3 cents higher at $ 12.50 ."],
                     ['Shares ended up 3 cents at $ 12.50 , the "exchange" said .'])
    assert dev.y.tolist() == [1]
    test = load("mrpc", "test")
    assert test.x == (['He said "no.', "The bridge reopened on Monday ."],
                      ["He refused .", "Rain is expected on Monday ."])
    assert test.ids == ["0", "1"] and test.y is None


def test_stsb_float_scores():
    train = load("sts-b", "train")
    assert train.x == (["A dog is running in the park.", "Markets fall after the report.",
                        "You can boil the eggs first."],
                       ["A dog runs through a park.", "A cat sleeps on a sofa.",
                        "Boil the eggs before anything else."])
    np.testing.assert_array_equal(train.y, np.array([4.75, 0.0, 3.8], np.float32))
    assert train.label_names is None and train.num_labels == 1
    dev = load("stsb", "dev")
    np.testing.assert_array_equal(dev.y, np.array([5.0, 2.6], np.float32))
    test = load("STS-B", "test")
    assert test.x == (["Rain floods the streets."], ["Streets are flooded after rain."])
    assert test.y is None


def test_qqp_malformed_lines_are_skipped_counted_and_reported():
    with pytest.warns(UserWarning) as record:
        train = glue.load("qqp", os.path.join(FIXTURES, "QQP"), "train")
    messages = [str(w.message) for w in record]
    assert len(messages) == 1
    assert "skipped 3 malformed line(s)" in messages[0]
    assert os.path.join("QQP", "train.tsv") in messages[0]
    assert "line 4, 5, 7" in messages[0]
    assert train.skipped == 3 and train.skipped_lines == [4, 5, 7]
    assert train.x == (["How do I learn to cook rice?", "Why is the sky blue?",
                        "Can penguins fly?"],
                       ["What is the best way to cook rice?", "How far away is the moon?",
                        "Do penguins fly?"])
    assert train.y.tolist() == [1, 0, 1]
    assert train.ids == ["10", "11", "13"]
    dev = load("qqp", "dev")
    assert dev.ids == ["200"] and dev.y.tolist() == [1] and dev.skipped == 0
    test = load("qqp", "test")
    assert test.x == (["Where do whales sleep?", "What is the capital of Peru?"],
                      ["How do whales sleep?", ""])
    assert test.ids == ["0", "1"]


def test_mnli_train_dev_and_test_layouts():
    train = load("mnli", "train")
    assert train.x == (["The office closes at noon on Fridays.",
                        'He said "maybe next year, if the weather holds.',
                        "She walked home through the rain."],
                       ["The office is open all day Friday.", "He was unsure about next year.",
                        "She forgot her umbrella."])
    assert train.label_names == ["contradiction", "entailment", "neutral"]
    assert train.y.tolist() == [0, 1, 2]
    dev = load("MNLI", "dev")
    assert dev.split == "dev_matched"
    assert dev.x == (["The museum is free on Sundays.", "The trail is steep near the top."],
                     ["Visitors pay nothing on Sundays.", "The trail is flat the whole way."])
    assert dev.y.tolist() == [1, 0]
    assert load("mnli", "dev_matched").x == dev.x
    mismatched = load("mnli", "dev_mismatched")
    assert mismatched.x == (["Your gift helps us plant trees."],
                            ["The trees are planted in spring."])
    assert mismatched.y.tolist() == [2]
    test = load("mnli", "test")
    assert test.split == "test_matched" and test.y is None and test.ids == ["0", "1"]
    assert test.x == (["The report is due in May.", "He closed the door quietly."],
                      ["The report is late.", "He slammed the door."])
    test_mm = load("mnli", "test_mismatched")
    assert test_mm.x == (["Commas matter in contracts."], ["Punctuation can change meaning."])


def test_qnli_incomplete_line_is_skipped():
    with pytest.warns(UserWarning, match="QNLI train: skipped 1 malformed line"):
        train = glue.load("qnli", os.path.join(FIXTURES, "QNLI"), "train")
    assert train.skipped_lines == [3]
    assert train.x == (["When was the bridge built?", "Who designed the tower?"],
                       ["The bridge was completed in 1932.", "The tower is 90 metres tall."])
    assert train.y.tolist() == [0, 1]
    assert train.label_names == ["entailment", "not_entailment"]
    assert train.ids == ["0", "2"]
    test = load("qnli", "test")
    assert test.x == (["What color is the flag?"], ["The flag is green and white."])


def test_rte_and_wnli():
    rte = load("rte", "train")
    assert rte.x == (["The council voted to close the library in March.",
                      "Heavy snow delayed flights at the airport."],
                     ["The library will close.", "The airport was closed for a week."])
    assert rte.y.tolist() == [0, 1]
    assert load("rte", "dev").y.tolist() == [0]
    assert load("rte", "test").x == (["The factory hired 200 new workers."],
                                     ["The factory fired workers."])
    wnli = load("wnli", "train")
    assert wnli.x[1] == ["The trophy was too big.", "The bag was too big."]
    assert wnli.y.tolist() == [1, 0] and wnli.label_names == ["0", "1"]
    assert load("wnli", "test").x == (["The cup fell on the plate and it broke."],
                                      ["The plate broke."])


def test_ax_reads_diagnostic_tsv_and_ax_tsv(tmp_path):
    diagnostic = load("ax", "test")
    assert diagnostic.x == (["The cat sat on the mat.", "Some dogs bark."],
                            ["The cat did not sit on the mat.", "All dogs bark."])
    assert diagnostic.ids == ["0", "1"] and diagnostic.y is None
    assert diagnostic.label_names == ["contradiction", "entailment", "neutral"]
    shutil.copy(os.path.join(FIXTURES, "diagnostic", "diagnostic.tsv"), tmp_path / "AX.tsv")
    renamed = glue.load("diagnostic", str(tmp_path), "test")
    assert renamed.x == diagnostic.x and renamed.path.endswith("AX.tsv")


def test_xnli_language_filter_and_multinli_train_file():
    dev = load("xnli", "dev", language="zh")
    assert dev.x == (["他每天早上在公园里跑步。", "商店今天关门。"], ["他在为比赛训练。", "商店今天营业。"])
    assert dev.y.tolist() == [2, 0]
    assert dev.ids == ["1", "5"]
    german = load("xnli", "dev", language="de")
    assert german.x[0] == ["Er läuft jeden Morgen im Park.", "Der Laden ist heute geschlossen."]
    test = load("xnli", "test", language="en")
    assert test.x == (["She bought three books."], ["She bought books."])
    assert test.y.tolist() == [1]
    train = load("XNLI", "train", language="zh")
    assert train.x == (["会议推迟到下周。", "孩子们在院子里玩。", "他喜欢喝茶。"],
                       ["会议按时举行。", "孩子们在外面。", "他每天喝三杯茶。"])
    # "contradictory" in the translated train file is "contradiction".
    assert train.y.tolist() == [0, 1, 2]
    assert train.ids == ["0", "1", "2"]


def test_imdb_folders():
    train = load("imdb", "train")
    assert train.x == ["Dull from the first scene.  I left early.",
                       "The acting is wooden and the jokes fall flat.",
                       "A lovely film. The music alone is worth it.",
                       "Better than I expected, with a clever ending."]
    assert train.y.tolist() == [0, 0, 1, 1]
    assert train.label_names == ["neg", "pos"]
    assert train.ids == ["neg/0_2.txt", "neg/1_3.txt", "pos/0_9.txt", "pos/10_7.txt"]
    dev = load("IMDB", "dev")
    assert dev.split == "test"
    assert dev.x == ["Too long by an hour.", "Funny, warm and well paced. "]
    assert dev.y.tolist() == [0, 1] and dev.ids == ["neg/5_1.txt", "pos/6_8.txt"]


def test_yelp_csv_escapes_and_literal_newlines():
    with pytest.warns(UserWarning, match=r"Yelp5 train: skipped 1 malformed line.*line 5"):
        train = glue.load("yelp-5", os.path.join(FIXTURES, "yelp_review_full_csv"), "train")
    assert train.x == ["Great tacos and friendly staff.\\nWe will be back!",
                       'The waiter said "we are closed" at 8pm.\\n\\nNever again.',
                       'They call it "fresh" bread. It was fine.',
                       'He said "hi" twice, then left.',
                       "Solid, not special."]
    assert train.y.tolist() == [4, 0, 2, 1, 3]
    assert train.ids == ["0", "1", "2", "3", "5"]
    assert train.label_names == ["1", "2", "3", "4", "5"]
    spaced = load("yelp5", "train", literal_newline=" ")
    assert spaced.x[:2] == ["Great tacos and friendly staff. We will be back!",
                            'The waiter said "we are closed" at 8pm.  Never again.']
    dev = load("yelp5", "dev")
    assert dev.split == "test"
    assert dev.x == ["Cold fries, warm soda.", "Best brunch in town."]
    assert dev.y.tolist() == [1, 4]


@pytest.mark.parametrize("name,canonical", [
    ("mrpc", "MRPC"), ("MRPC", "MRPC"), ("Mrpc", "MRPC"), ("sts-b", "STS-B"),
    ("stsb", "STS-B"), ("STS_B", "STS-B"), ("sst2", "SST-2"), ("sst-2", "SST-2"),
    ("cola", "CoLA"), ("mnli", "MNLI"), ("ax", "AX"), ("diagnostic", "AX"),
    ("xnli", "XNLI"), ("imdb", "IMDB"), ("yelp5", "Yelp5"), ("Yelp-5", "Yelp5")])
def test_task_names_are_case_and_hyphen_tolerant(name, canonical):
    assert glue.get_task(name).name == canonical


def test_ram_filesystem(tmp_path):
    folder = "ram://kerabert_glue_test/MRPC"
    tf.io.gfile.makedirs(folder)
    with open(os.path.join(FIXTURES, "MRPC", "train.tsv"), "rb") as f:
        content = f.read()
    with tf.io.gfile.GFile(folder + "/train.tsv", "wb") as f:
        f.write(content)
    data = glue.load("mrpc", folder, "train")
    assert data.path == folder + "/train.tsv"
    assert data.x[0][0] == 'The company said "sales rose 5 percent" in the quarter .'
    assert data.y.tolist() == [1, 0]


def test_x_and_y_go_into_fit_and_predict():
    import keras

    import kerabert
    from tests.conftest import TINY_VOCAB

    keras.utils.set_random_seed(0)
    backbone = kerabert.BertBackbone(vocabulary_size=len(TINY_VOCAB), num_layers=1,
                                     num_heads=2, hidden_dim=8, intermediate_dim=16)
    preprocessor = kerabert.BertPreprocessor(kerabert.BertTokenizer(TINY_VOCAB),
                                             sequence_length=16)
    pairs = load("mnli", "train")
    classifier = kerabert.BertClassifier(backbone, num_classes=pairs.num_labels,
                                         preprocessor=preprocessor)
    classifier.compile(learning_rate=1e-3, jit_compile=False)
    history = classifier.fit(pairs.x, pairs.y, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    test = load("mnli", "test")
    assert classifier.predict(test.x, batch_size=2, verbose=0).shape == (len(test), 3)
    single = load("cola", "test")
    assert classifier.predict(single.x, verbose=0).shape == (len(single), 3)


# --- errors -------------------------------------------------------------------------


def _write(path, text, encoding="utf-8"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(text.encode(encoding) if isinstance(text, str) else text)


def test_unknown_task_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown task 'squad'") as error:
        glue.load("squad", FIXTURES, "train")
    for name in ("CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI", "QNLI", "RTE", "WNLI",
                 "AX", "XNLI", "IMDB", "Yelp5"):
        assert name in str(error.value)


def test_unknown_split_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown split 'validation' for MNLI") as error:
        load("mnli", "validation")
    for name in ("train", "dev_matched", "dev_mismatched", "test_matched", "test_mismatched"):
        assert name in str(error.value)
    with pytest.raises(ValueError, match=r"Unknown split 'dev' for AX\. Valid splits: test"):
        load("ax", "dev")


def test_missing_file_names_the_file_the_folder_and_the_layout(tmp_path):
    (tmp_path / "MRPC").mkdir()
    with pytest.raises(FileNotFoundError) as error:
        glue.load("mrpc", str(tmp_path / "MRPC"), "dev")
    message = str(error.value)
    assert "dev.tsv" in message and str(tmp_path / "MRPC") in message
    assert "download_glue_data.py" in message and "it is not there" in message
    with pytest.raises(FileNotFoundError, match="that folder does not exist"):
        glue.load("mnli", str(tmp_path / "nowhere"), "dev_mismatched")
    with pytest.raises(FileNotFoundError, match="diagnostic.tsv or AX.tsv"):
        glue.load("ax", str(tmp_path), "test")
    with pytest.raises(FileNotFoundError, match=r"multinli/multinli\.train\.fr\.tsv"):
        glue.load("xnli", os.path.join(FIXTURES, "XNLI"), "train", language="fr")
    (tmp_path / "aclImdb" / "train" / "neg").mkdir(parents=True)
    (tmp_path / "aclImdb" / "train" / "neg" / "0_1.txt").write_text("Bad.")
    with pytest.raises(FileNotFoundError, match=r"IMDB: no \.txt files in .*pos.*aclImdb"):
        glue.load("imdb", str(tmp_path / "aclImdb"), "train")


def test_label_outside_the_label_set_names_file_line_and_value(tmp_path):
    path = tmp_path / "RTE" / "train.tsv"
    _write(str(path), "index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tentailment\n\n"
                      "1\tC.\tD.\tmaybe\n")
    with pytest.raises(glue.GlueFormatError) as error:
        glue.load("rte", str(tmp_path / "RTE"), "train")
    message = str(error.value)
    assert str(path) in message and "line 4" in message and "'maybe'" in message
    assert "['entailment', 'not_entailment']" in message


def test_cola_file_with_a_header_fails_on_the_header_line(tmp_path):
    _write(str(tmp_path / "train.tsv"), "source\tlabel\tmark\tsentence\nx\t1\t\tFine.\n")
    with pytest.raises(glue.GlueFormatError, match=r"line 1: label 'label' is not one of"):
        glue.load("cola", str(tmp_path), "train")


def test_bad_stsb_score(tmp_path):
    header = "\t".join(["index", "genre", "filename", "year", "old_index", "source1",
                        "source2", "sentence1", "sentence2", "score"])
    _write(str(tmp_path / "dev.tsv"), header + "\n0\tg\tf\ty\t1\tn\tn\tA.\tB.\thigh\n")
    with pytest.raises(glue.GlueFormatError, match=r"line 2: score 'high' is not a number"):
        glue.load("stsb", str(tmp_path), "dev")


def test_missing_column_names_the_column_and_the_header(tmp_path):
    _write(str(tmp_path / "train.tsv"), "id\tquestion1\tquestion2\tlabel\n1\tA?\tB?\t0\n")
    with pytest.raises(glue.GlueFormatError, match=r"no column named 'is_duplicate'") as error:
        glue.load("qqp", str(tmp_path), "train")
    assert "['id', 'question1', 'question2', 'label']" in str(error.value)


def test_not_utf8_and_empty_files(tmp_path):
    _write(str(tmp_path / "train.tsv"), "sentence\tlabel\ncaf\xe9\t1\n".encode("latin-1"))
    with pytest.raises(glue.GlueFormatError, match=r"line 2: not UTF-8"):
        glue.load("sst2", str(tmp_path), "train")
    _write(str(tmp_path / "dev.tsv"), "")
    with pytest.raises(glue.GlueFormatError, match="is empty"):
        glue.load("sst2", str(tmp_path), "dev")


def test_yelp_bad_rating_and_blank_lines(tmp_path):
    _write(str(tmp_path / "test.csv"), '"5","Fine."\n\n"2","Meh."\n')
    data = glue.load("yelp5", str(tmp_path), "test")
    assert data.x == ["Fine.", "Meh."] and data.y.tolist() == [4, 1] and data.skipped == 0
    _write(str(tmp_path / "train.csv"), '"5","Fine."\n"6","Too good."\n')
    with pytest.raises(glue.GlueFormatError, match=r"line 2: label '6' is not one of the "
                                                   r"Yelp5 labels \['1', '2', '3', '4', '5'\]"):
        glue.load("yelp5", str(tmp_path), "train")


def test_option_errors():
    with pytest.raises(ValueError, match="XNLI needs language=, one of ar, bg"):
        load("xnli", "dev")
    with pytest.raises(ValueError, match="Unknown XNLI language 'xx'"):
        load("xnli", "dev", language="xx")
    with pytest.raises(ValueError, match="language= only applies to XNLI, not MNLI"):
        load("mnli", "dev", language="en")
    with pytest.raises(ValueError, match="literal_newline= only applies to Yelp5, not IMDB"):
        load("imdb", "train", literal_newline=" ")


def test_xnli_language_absent_from_the_file(tmp_path):
    shutil.copy(os.path.join(FIXTURES, "XNLI", "xnli.test.tsv"), tmp_path / "xnli.test.tsv")
    with pytest.raises(glue.GlueFormatError, match="no line with language 'sw'"):
        glue.load("xnli", str(tmp_path), "test", language="sw")


# --- evaluate ----------------------------------------------------------------------
# The metrics themselves are checked against sklearn and scipy in
# tests/metrics/test_glue_metrics.py; these check what evaluate feeds them.


def test_evaluate_reports_each_tasks_metrics_like_sklearn_and_scipy():
    rng = np.random.default_rng(0)
    n = 200
    labels = rng.integers(0, 2, n)
    logits = rng.normal(size=(n, 2)) + labels[:, None] * [0, 0.8]
    predicted = logits.argmax(1)
    for task in ("mrpc", "qqp"):
        assert glue.evaluate(task, labels, logits) == {
            "accuracy": pytest.approx(sklearn.metrics.accuracy_score(labels, predicted),
                                      abs=1e-12),
            "f1": pytest.approx(sklearn.metrics.f1_score(labels, predicted), abs=1e-12)}
    assert glue.evaluate("cola", labels, predicted) == {
        "matthews_corr": pytest.approx(sklearn.metrics.matthews_corrcoef(labels, predicted),
                                       abs=1e-12)}
    for task in ("sst2", "wnli", "rte", "qnli"):
        assert glue.evaluate(task, labels, predicted) == {
            "accuracy": pytest.approx(sklearn.metrics.accuracy_score(labels, predicted),
                                      abs=1e-12)}

    labels = rng.integers(0, 3, 150)
    probabilities = rng.dirichlet([1, 1, 1], size=150)
    predicted = probabilities.argmax(1)
    assert glue.evaluate("mnli", labels, probabilities) == {
        "accuracy": pytest.approx(sklearn.metrics.accuracy_score(labels, predicted), abs=1e-12)}
    assert glue.evaluate("ax", labels, probabilities) == {
        "matthews_corr": pytest.approx(sklearn.metrics.matthews_corrcoef(labels, predicted),
                                       abs=1e-12)}
    names = np.array(["contradiction", "entailment", "neutral"])
    assert glue.evaluate("xnli", names[labels], names[predicted])["accuracy"] == pytest.approx(
        sklearn.metrics.accuracy_score(labels, predicted), abs=1e-12)

    scores = np.round(rng.uniform(0, 5, 120) * 2) / 2
    predictions = np.round((scores + rng.normal(0, 1.2, 120)) * 2) / 2
    result = glue.evaluate("sts-b", scores, predictions.astype(np.float32)[:, None])
    assert result == {
        "pearson": pytest.approx(scipy.stats.pearsonr(
            scores, predictions.astype(np.float32)).statistic, abs=1e-6),
        "spearman": pytest.approx(scipy.stats.spearmanr(scores, predictions).statistic,
                                  abs=1e-12)}


def test_evaluate_constant_scores_give_nan_with_a_warning():
    with pytest.warns(UserWarning, match="constant"):
        result = glue.evaluate("stsb", [1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    assert np.isnan(result["pearson"]) and np.isnan(result["spearman"])


def test_evaluate_errors():
    with pytest.raises(ValueError, match="3 labels but 2 predictions"):
        glue.evaluate("mrpc", [0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match=r"shape \(2, 3\): 3 columns, but MRPC has 2 classes"):
        glue.evaluate("mrpc", [0, 1], np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(2, 2, 2\)"):
        glue.evaluate("mnli", [0, 1], np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=r"labels have shape \(2, 3\)"):
        glue.evaluate("mnli", np.eye(2, 3), [0, 1])
    with pytest.raises(ValueError, match=r"class ids outside 0\.\.2"):
        glue.evaluate("mnli", [0, 1], [0, 3])
    with pytest.raises(ValueError, match="1-D floats that are not class ids"):
        glue.evaluate("rte", [0, 1], [0.2, 0.9])
    with pytest.raises(ValueError, match=r"not RTE labels: \['yes'\]"):
        glue.evaluate("rte", ["entailment", "yes"], [0, 1])
    with pytest.raises(ValueError, match="No examples"):
        glue.evaluate("sst2", [], [])
    with pytest.raises(ValueError, match="NaN"):
        glue.evaluate("stsb", [1.0, 2.0], [np.nan, 1.0])
    with pytest.raises(ValueError, match=r"shape \(2, 2\); STS-B takes scores"):
        glue.evaluate("stsb", [1.0, 2.0], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="at least 2 examples"):
        glue.evaluate("stsb", [1.0], [1.0])


# --- submission files -----------------------------------------------------------


def _read_submission(path):
    with tf.io.gfile.GFile(path, "r") as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def test_write_submission_classification(tmp_path):
    test = load("mnli", "test")
    logits = np.array([[0.1, 0.2, 3.0], [2.0, -1.0, 0.0]])
    path = glue.write_submission("mnli", test.ids, logits, str(tmp_path / "MNLI-m.tsv"))
    assert _read_submission(path) == [["index", "prediction"], ["0", "neutral"],
                                      ["1", "contradiction"]]
    qnli = str(tmp_path / "QNLI.tsv")
    glue.write_submission("qnli", ["7", "8", "9"], [1, 0, 1], qnli)
    assert _read_submission(qnli)[1:] == [["7", "not_entailment"], ["8", "entailment"],
                                          ["9", "not_entailment"]]
    mrpc = str(tmp_path / "MRPC.tsv")
    glue.write_submission("mrpc", np.array([3, 4]), np.array([[0.9, 0.1], [0.3, 0.7]]), mrpc)
    assert _read_submission(mrpc) == [["index", "prediction"], ["3", "0"], ["4", "1"]]
    assert sorted(os.listdir(tmp_path)) == ["MNLI-m.tsv", "MRPC.tsv", "QNLI.tsv"]


def test_write_submission_stsb_scores_round_trip(tmp_path):
    scores = np.array([[4.123456789], [0.5], [3.0000001]], np.float32)
    path = glue.write_submission("sts-b", ["0", "1", "2"], scores, str(tmp_path / "STS-B.tsv"))
    rows = _read_submission(path)
    assert rows[0] == ["index", "prediction"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    np.testing.assert_array_equal(np.array([float(r[1]) for r in rows[1:]], np.float32),
                                  scores[:, 0])


def test_write_submission_is_atomic(tmp_path, monkeypatch):
    path = str(tmp_path / "RTE.tsv")
    glue.write_submission("rte", ["0"], [0], path)

    def failing_rename(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_rename)
    with pytest.raises(OSError, match="disk full"):
        glue.write_submission("rte", ["0", "1"], [1, 1], path)
    assert os.listdir(tmp_path) == ["RTE.tsv"]
    assert _read_submission(path) == [["index", "prediction"], ["0", "entailment"]]


def test_write_submission_ram_and_errors(tmp_path):
    path = "ram://kerabert_glue_submission/out/WNLI.tsv"
    glue.write_submission("wnli", ["0", "1"], [1, 0], path)
    assert _read_submission(path) == [["index", "prediction"], ["0", "1"], ["1", "0"]]
    with pytest.raises(ValueError, match="2 ids but 3 predictions"):
        glue.write_submission("wnli", ["0", "1"], [1, 0, 1], str(tmp_path / "x.tsv"))
    with pytest.raises(ValueError, match="holds a tab or line break"):
        glue.write_submission("wnli", ["0\t1"], [1], str(tmp_path / "x.tsv"))
    assert not os.path.exists(tmp_path / "x.tsv")


def test_submission_filenames():
    names = [glue.submission_filename(task) for task in
             ("cola", "sst2", "mrpc", "stsb", "qqp", "qnli", "rte", "wnli", "ax")]
    assert names == ["CoLA.tsv", "SST-2.tsv", "MRPC.tsv", "STS-B.tsv", "QQP.tsv", "QNLI.tsv",
                     "RTE.tsv", "WNLI.tsv", "AX.tsv"]
    assert glue.submission_filename("mnli") == "MNLI-m.tsv"
    assert glue.submission_filename("mnli", "test_mismatched") == "MNLI-mm.tsv"
    with pytest.raises(ValueError, match="XNLI is not a GLUE task"):
        glue.submission_filename("xnli")
    with pytest.raises(ValueError, match="predictions for the split"):
        glue.submission_filename("mnli", "dev")
