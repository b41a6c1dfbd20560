"""Datasets: SQuAD and GLUE-style classification sets (`kerabert.squad`,
`kerabert.glue`), classification TFRecords in the reference schema, BERT and
XLNet pretraining data, the demo reviews.

The entry points are re-exported here, so `kerabert.data.bert_pretraining_dataset(...)`
works as well as the module paths (XLNet's TFRecord functions as
`create_xlnet_tfrecords` / `read_xlnet_tfrecords`).
"""

from kerabert.data.bert_pretraining import bert_pretraining_dataset
from kerabert.data.bert_pretraining import create_pretraining_tfrecords
from kerabert.data.bert_pretraining import read_tfrecords
from kerabert.data.classification_tfrecords import from_reference_features
from kerabert.data.classification_tfrecords import read_classification_tfrecords
from kerabert.data.classification_tfrecords import read_meta
from kerabert.data.classification_tfrecords import write_classification_tfrecords
from kerabert.data.xlnet_pretraining import create_tfrecords as create_xlnet_tfrecords
from kerabert.data.xlnet_pretraining import read_tfrecords as read_xlnet_tfrecords
from kerabert.data.xlnet_pretraining import xlnet_pretraining_dataset

__all__ = ["bert_pretraining_dataset", "create_pretraining_tfrecords", "create_xlnet_tfrecords",
           "from_reference_features", "read_classification_tfrecords", "read_meta",
           "read_tfrecords", "read_xlnet_tfrecords", "write_classification_tfrecords",
           "xlnet_pretraining_dataset"]
