"""Molecules as fixed-length SELFIES token sequences, and the MOSES subsample they are trained on.

Why SELFIES: every sequence of SELFIES tokens decodes to a valid molecule, so a diffusion model
that emits one token per position (the argmax of its one-hot block) cannot produce an invalid
SMILES string by a misplaced bracket or ring digit. Sequences are padded with SELFIES' own
no-op token "[nop]", which the decoder skips, so padding needs no special case.

The MOSES benchmark splits ship inside the `molsets` wheel (moses/dataset/data/*.csv.gz). Its
dependency pins do not install, so it is installed with `pip install --no-deps molsets` and
never imported: the CSVs are found through the package's location only.
"""
from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from qedm.errors import DataError, require

PAD = "[nop]"  # SELFIES' no-op token: skipped by the decoder
MOSES_INSTALL = "pip install --no-deps molsets"
MOSES_SMALL = dict(n_train=4000, n_heldout=1000, max_tokens=30, seed=0)  # the bundled moses_small


@dataclass
class SelfiesCodec:
    """SMILES <-> integer SELFIES tokens [N, max_tokens] over a fixed vocabulary (PAD is index 0).

    `vocabulary` and `max_tokens` are learned by `fit`; a molecule longer than max_tokens or with
    a token outside the vocabulary raises DataError when encoded (`encodable` tells in advance).
    """

    vocabulary: list[str]
    max_tokens: int

    @classmethod
    def fit(cls, smiles: list[str], column: str = "smiles") -> "SelfiesCodec":
        """The vocabulary and longest length of the training molecules."""
        tokens = [_tokens(s, column) for s in smiles]
        vocab = sorted({t for seq in tokens for t in seq} - {PAD})
        return cls([PAD, *vocab], max(len(seq) for seq in tokens))

    @property
    def size(self) -> int:
        return len(self.vocabulary)

    def encodable(self, smiles: str) -> bool:
        """Whether `smiles` parses and fits this vocabulary and length."""
        try:
            seq = _tokens(smiles, "smiles")
        except DataError:
            return False
        known = set(self.vocabulary)
        return len(seq) <= self.max_tokens and all(t in known for t in seq)

    def encode(self, smiles: list[str], column: str = "smiles") -> np.ndarray:
        """Token indices int64 [N, max_tokens], PAD-filled after each molecule's last token."""
        index = {t: i for i, t in enumerate(self.vocabulary)}
        out = np.zeros((len(smiles), self.max_tokens), dtype=np.int64)
        for row, s in enumerate(smiles):
            seq = _tokens(s, column)
            if len(seq) > self.max_tokens:
                raise DataError(f"column '{column}': {s!r} has {len(seq)} SELFIES tokens, more than the "
                                f"{self.max_tokens} of the training molecules")
            unknown = [t for t in seq if t not in index]
            if unknown:
                raise DataError(f"column '{column}': {s!r} uses the SELFIES token {unknown[0]} that no "
                                "training molecule has")
            out[row, : len(seq)] = [index[t] for t in seq]
        return out

    def decode(self, tokens: np.ndarray) -> list[str]:
        """Canonical SMILES of each row of token indices [N, max_tokens] ("" for an empty molecule)."""
        sf = require("selfies", "science")
        vocab = np.asarray(self.vocabulary, dtype=object)
        return [canonical_smiles(sf.decoder("".join(vocab[row]))) for row in np.asarray(tokens)]

    def to_dict(self) -> dict:
        return {"vocabulary": list(self.vocabulary), "max_tokens": int(self.max_tokens)}

    @classmethod
    def from_dict(cls, d: dict) -> "SelfiesCodec":
        return cls(list(d["vocabulary"]), int(d["max_tokens"]))


def _tokens(smiles: str, column: str) -> list[str]:
    """The SELFIES tokens of one SMILES string; DataError naming the column if it does not parse."""
    sf = require("selfies", "science")
    if not isinstance(smiles, str) or not smiles:
        raise DataError(f"column '{column}' holds {smiles!r}, not a SMILES string")
    try:
        return list(sf.split_selfies(sf.encoder(smiles)))
    except sf.EncoderError as exc:
        raise DataError(f"column '{column}': {smiles!r} is not a SMILES string SELFIES can encode ({exc})") from exc


def canonical_smiles(smiles: str) -> str:
    """RDKit's canonical SMILES of `smiles`, or "" if RDKit cannot parse it."""
    Chem = require("rdkit.Chem", "science")
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    return "" if mol is None or mol.GetNumAtoms() == 0 else Chem.MolToSmiles(mol)


def shuffled_tokens(smiles: list[str], seed: int) -> list[str]:
    """Each molecule's SELFIES tokens in a random order, decoded: valid molecules of the training
    atoms with their arrangement destroyed (the baseline a generator must beat on properties)."""
    sf = require("selfies", "science")
    rng = np.random.default_rng(seed)
    out = []
    for s in smiles:
        seq = _tokens(s, "smiles")
        out.append(canonical_smiles(sf.decoder("".join(seq[i] for i in rng.permutation(len(seq))))))
    return out


def moses_file(split: str) -> Path:
    """The path of MOSES' `split` CSV ("train" or "test") inside the installed molsets package."""
    spec = importlib.util.find_spec("moses")  # locates the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"the MOSES molecules need the package molsets (module moses): {MOSES_INSTALL}")
    path = Path(list(spec.submodule_search_locations)[0]) / "dataset" / "data" / f"{split}.csv.gz"
    if not path.is_file():
        raise DataError(f"the molsets install lacks its bundled file {path}; reinstall it: {MOSES_INSTALL}")
    return path


def moses_subsample(split: str, n: int, max_tokens: int, seed: int) -> pd.DataFrame:
    """`n` molecules of MOSES' `split` with at most `max_tokens` SELFIES tokens, drawn in a seeded
    random order; one column "smiles" (canonical). Same arguments, same molecules (a fresh copy;
    the draw itself is cached, as reading the 1.6 M-row split takes seconds)."""
    return _subsample(split, n, max_tokens, seed).copy()


@functools.lru_cache(maxsize=8)
def _subsample(split: str, n: int, max_tokens: int, seed: int) -> pd.DataFrame:
    require("selfies", "science")
    smiles = pd.read_csv(moses_file(split))["SMILES"].to_numpy()
    chosen = []
    for i in np.random.default_rng(seed).permutation(len(smiles)):
        if len(_tokens(smiles[i], "SMILES")) <= max_tokens:
            chosen.append(canonical_smiles(smiles[i]))
            if len(chosen) == n:
                break
    return pd.DataFrame({"smiles": chosen})


def load_moses_small(split: str = "train") -> pd.DataFrame:
    """The bundled `moses_small` set: 4000 training molecules (MOSES train) or the 1000 held-out
    ones (MOSES test), each of at most 30 SELFIES tokens."""
    if split not in ("train", "test"):
        raise DataError(f"split must be 'train' or 'test', got {split!r}")
    n = MOSES_SMALL["n_train"] if split == "train" else MOSES_SMALL["n_heldout"]
    return moses_subsample(split, n, MOSES_SMALL["max_tokens"], MOSES_SMALL["seed"])
