"""Data stage: bundled datasets, file reading, the reversible table transform and latent compression."""
from qedm.data.datasets import (
    DEFAULT_DATASET,
    DatasetInfo,
    dataset_info,
    list_datasets,
    load_dataset,
    load_digits_images,
)
from qedm.data.imbalance import induce_imbalance
from qedm.data.io import read_table
from qedm.data.table import OutputBlock, TableTransformer

__all__ = [
    "DEFAULT_DATASET",
    "DatasetInfo",
    "OutputBlock",
    "TableTransformer",
    "dataset_info",
    "induce_imbalance",
    "list_datasets",
    "load_dataset",
    "load_digits_images",
    "read_table",
]
