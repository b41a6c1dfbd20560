"""Datasets: SQuAD reading, BERT and XLNet pretraining data, the demo reviews.

The pretraining entry points are re-exported here, so
`kerabert.data.bert_pretraining_dataset(...)` works as well as the module paths.
"""

from kerabert.data.bert_pretraining import bert_pretraining_dataset
from kerabert.data.bert_pretraining import create_pretraining_tfrecords
from kerabert.data.bert_pretraining import read_tfrecords
from kerabert.data.xlnet_pretraining import xlnet_pretraining_dataset

__all__ = ["bert_pretraining_dataset", "create_pretraining_tfrecords", "read_tfrecords",
           "xlnet_pretraining_dataset"]
