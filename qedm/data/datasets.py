"""Real datasets shipped inside installed packages, loaded offline (nothing is downloaded).

Sources: scikit-learn's bundled CSVs (breast cancer, iris, wine, diabetes, linnerud, digits),
sdmetrics' bundled demo (student placements), and, when the optional package `statsmodels` is
installed, its bundled tables (fair affairs survey, ANES 1996, RAND health insurance
experiment). "fair" is the real imbalanced
table: its target `rate_marriage` has a 1.6 % rare class (1 = very poor) and a 5.5 % one (2).
The TFIM snapshot tables (tfim_z, tfim_x) are made by qedm itself (qedm.science): exact ground
states, sampled with a fixed seed on every load, so nothing is stored or downloaded.
moses_small is a seeded subsample of the MOSES benchmark molecules shipped in the `molsets`
wheel (qedm.science.molecules), one SMILES column modelled as SELFIES tokens.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from qedm.errors import DataError, require

DEFAULT_DATASET = "breast_cancer"


@dataclass(frozen=True)
class DatasetInfo:
    """What a bundled dataset is; n_rows/n_columns/kinds describe the frame load_dataset returns."""

    name: str
    n_rows: int
    n_columns: int
    kinds: str  # column kinds as TableTransformer detects them, e.g. "30 numeric, 1 categorical"
    target: str | None
    description: str
    source: str
    kind: str = "table"  # "table" or "image"
    requires: str | None = None  # optional package that ships the data (None: a core dependency)
    column_kinds: tuple[tuple[str, str], ...] = ()  # kinds fit applies unless told otherwise
    fit_defaults: tuple[tuple[str, object], ...] = ()  # config values `qedm fit --dataset` uses unless told otherwise


def _sklearn_frame(loader_name: str, class_names: bool = True, **kw) -> pd.DataFrame:
    """A scikit-learn toy dataset as one frame; the class target as strings when class_names."""
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader_name)(as_frame=True, **kw)
    df = bunch.frame.copy()
    if class_names and "target_names" in bunch:
        df["target"] = np.asarray(bunch.target_names, dtype=object)[df["target"].to_numpy()]
    return df


def _load_linnerud() -> pd.DataFrame:
    import sklearn.datasets

    bunch = sklearn.datasets.load_linnerud(as_frame=True)
    return pd.concat([bunch.data, bunch.target], axis=1)


def _load_digits_frame() -> pd.DataFrame:
    images, labels = load_digits_images()
    df = pd.DataFrame(images.reshape(len(images), 64).astype(np.int64),
                      columns=[f"pixel_{i}" for i in range(64)])
    df["target"] = labels
    return df


def _load_student_placements() -> pd.DataFrame:
    # Located without importing sdmetrics (its import takes about a second).
    spec = importlib.util.find_spec("sdmetrics")
    if spec is None or spec.origin is None:
        raise DataError("the dataset 'student_placements' needs the package sdmetrics installed")
    path = Path(spec.origin).parent / "demos" / "single_table" / "student_placements_real.csv"
    if not path.is_file():
        raise DataError(f"the sdmetrics install lacks its bundled demo file {path}")
    df = pd.read_csv(path)
    # The id is a row key and the two dates are SDV additions; duration (months) stays.
    return df.drop(columns=["student_id", "start_date", "end_date"])


def _load_fair() -> pd.DataFrame:
    sm_fair = require("statsmodels.datasets.fair", "datasets")
    df = sm_fair.load_pandas().data.copy()
    for col in ["rate_marriage", "religious", "educ", "occupation", "occupation_husb"]:
        df[col] = df[col].astype(np.int64)
    return df


def _load_anes96() -> pd.DataFrame:
    sm_anes = require("statsmodels.datasets.anes96", "datasets")
    df = sm_anes.load_pandas().data.drop(columns=["logpopul"])
    coded = ["TVnews", "selfLR", "ClinLR", "DoleLR", "PID", "age", "educ", "income"]
    df[coded] = df[coded].astype(np.int64)
    df["vote"] = np.where(df["vote"] == 1.0, "Dole", "Clinton").astype(object)
    return df


def _load_randhie() -> pd.DataFrame:
    sm_randhie = require("statsmodels.datasets.randhie", "datasets")
    df = sm_randhie.load_pandas().data.copy()
    # mdvis is a visit count; idp and the three health flags are 0/1 codes.
    for col in ["mdvis", "idp", "hlthg", "hlthf", "hlthp"]:
        df[col] = df[col].astype(np.int64)
    return df


def _load_tfim(basis: str) -> pd.DataFrame:
    from qedm.science.snapshots import load_bundled

    return load_bundled(basis)


def _load_moses_small() -> pd.DataFrame:
    from qedm.science.molecules import load_moses_small

    return load_moses_small("train")


_SK = "scikit-learn (bundled)"
_TFIM = "qedm.science (exact diagonalisation, regenerated on load)"
_REGISTRY: dict[str, tuple[DatasetInfo, Callable[[], pd.DataFrame]]] = {
    info.name: (info, loader)
    for info, loader in [
        (DatasetInfo("breast_cancer", 569, 31, "30 numeric, 1 categorical", "target",
                     "Wisconsin diagnostic breast cancer: 30 cell-nucleus features, malignant/benign",
                     _SK), lambda: _sklearn_frame("load_breast_cancer")),
        (DatasetInfo("iris", 150, 5, "4 numeric, 1 categorical", "target",
                     "Fisher's iris flowers: 4 measurements, species as a string", _SK),
         lambda: _sklearn_frame("load_iris")),
        (DatasetInfo("wine", 178, 14, "11 numeric, 2 integer, 1 categorical", "target",
                     "Wine recognition: 13 chemical measurements, cultivar class as a string", _SK),
         lambda: _sklearn_frame("load_wine")),
        (DatasetInfo("diabetes", 442, 11, "6 numeric, 4 integer, 1 categorical", "target",
                     "Diabetes progression: age, sex, BMI, blood pressure, 6 serum values (unscaled)",
                     _SK), lambda: _sklearn_frame("load_diabetes", class_names=False, scaled=False)),
        (DatasetInfo("linnerud", 20, 6, "5 integer, 1 categorical", None,
                     "Linnerud fitness club: 3 exercise and 3 physiological measurements", _SK),
         _load_linnerud),
        (DatasetInfo("student_placements", 215, 14, "5 numeric, 1 integer, 8 categorical", "placed",
                     "MBA campus placements: scores, specialisations, placed/salary (with missing)",
                     "sdmetrics demo (bundled)"), _load_student_placements),
        (DatasetInfo("fair", 6366, 9, "4 numeric, 5 categorical", "rate_marriage",
                     "Fair's 1974 affairs survey; imbalanced target (rate_marriage=1 is 1.6 %)",
                     "statsmodels (bundled)", requires="statsmodels"), _load_fair),
        (DatasetInfo("anes96", 944, 10, "3 integer, 7 categorical", "vote",
                     "American National Election Study 1996: attitudes, demographics, vote",
                     "statsmodels (bundled)", requires="statsmodels"), _load_anes96),
        (DatasetInfo("randhie", 20190, 10, "5 numeric, 1 integer, 4 categorical", "idp",
                     "RAND health insurance experiment: visits, coinsurance, deductible plan (idp), health",
                     "statsmodels (bundled)", requires="statsmodels"), _load_randhie),
        (DatasetInfo("tfim_z", 5000, 9, "1 numeric, 8 categorical", "h",
                     "Transverse-field Ising chain (8 periodic sites) ground-state snapshots in the Z "
                     "basis, 500 per field h = 0.2..2.0", _TFIM), lambda: _load_tfim("z")),
        (DatasetInfo("tfim_x", 5000, 9, "1 numeric, 8 categorical", "h",
                     "The same chains' snapshots in the X basis", _TFIM), lambda: _load_tfim("x")),
        (DatasetInfo("moses_small", 4000, 1, "1 smiles", None,
                     "4000 drug-like molecules (SMILES) of at most 30 SELFIES tokens, a seeded subsample "
                     "of MOSES train; held out: qedm.science.load_moses_small('test'). `qedm fit` uses a "
                     "1024-wide trunk (780 one-hot dims)",
                     "molsets (bundled MOSES splits; pip install --no-deps molsets)", requires="moses",
                     column_kinds=(("smiles", "smiles"),),
                     fit_defaults=(("hidden", 1024),)), _load_moses_small),
        (DatasetInfo("digits", 1797, 65, "64 pixel (8x8 image), 1 categorical", "target",
                     "Handwritten digits, 8x8 grey levels 0..16; see load_digits_images()", _SK,
                     kind="image"), _load_digits_frame),
    ]
}


def list_datasets() -> list[DatasetInfo]:
    """All bundled datasets, the default (breast_cancer) first."""
    return [info for info, _ in _REGISTRY.values()]


def dataset_info(name: str) -> DatasetInfo:
    """The DatasetInfo of one dataset; unknown names raise DataError listing the valid ones."""
    return _lookup(name)[0]


def load_dataset(name: str = DEFAULT_DATASET) -> pd.DataFrame:
    """Load a bundled dataset as a DataFrame (a fresh copy each call; no network)."""
    return _lookup(name)[1]().reset_index(drop=True)


def _lookup(name: str) -> tuple[DatasetInfo, Callable[[], pd.DataFrame]]:
    if name not in _REGISTRY:
        raise DataError(f"unknown dataset '{name}'; valid names: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def load_digits_images() -> tuple[np.ndarray, np.ndarray]:
    """Scikit-learn's handwritten digits: X: [1797, 8, 8] float32 in 0..16, y: [1797] int64."""
    import sklearn.datasets

    bunch = sklearn.datasets.load_digits()
    return bunch.images.astype(np.float32), bunch.target.astype(np.int64)
