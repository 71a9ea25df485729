"""Chemistry checks of generated molecules, computed with RDKit (and fcd_torch for the FCD).

The metrics MOSES and GuacaMol report: validity (parses to a non-empty molecule), uniqueness
(distinct among the valid), novelty (distinct valid ones absent from the training set), internal
diversity (1 - mean pairwise Tanimoto similarity of Morgan fingerprints, radius 2, 1024 bits),
and how far the distributions of QED, logP, molecular weight and ring count lie from a held-out
set (two-sample KS statistic and Wasserstein-1 distance), plus the Frechet ChemNet Distance.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp, wasserstein_distance

from qedm.errors import require
from qedm.science.molecules import canonical_smiles

PROPERTIES = ("qed", "logp", "mol_weight", "rings")
DIVERSITY_SAMPLE = 1000  # molecules whose pairwise similarities estimate the internal diversity


def molecules(smiles: list[str]) -> list:
    """RDKit molecules of the strings that parse to at least one atom (the valid ones)."""
    Chem = require("rdkit.Chem", "science")
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    mols = [Chem.MolFromSmiles(s) if isinstance(s, str) and s else None for s in smiles]
    return [m for m in mols if m is not None and m.GetNumAtoms() > 0]


def properties(mols: list) -> pd.DataFrame:
    """QED, Crippen logP, molecular weight and ring count of each molecule: [N, 4]."""
    require("rdkit.Chem", "science")
    from rdkit.Chem import QED, Crippen, Descriptors, rdMolDescriptors

    return pd.DataFrame({"qed": [QED.qed(m) for m in mols], "logp": [Crippen.MolLogP(m) for m in mols],
                         "mol_weight": [Descriptors.MolWt(m) for m in mols],
                         "rings": [rdMolDescriptors.CalcNumRings(m) for m in mols]}, columns=list(PROPERTIES))


def internal_diversity(mols: list, seed: int = 0) -> float:
    """1 - mean Tanimoto similarity over distinct pairs (at most DIVERSITY_SAMPLE molecules, seeded)."""
    require("rdkit.Chem", "science")
    from rdkit import DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    if len(mols) < 2:
        return float("nan")
    if len(mols) > DIVERSITY_SAMPLE:
        keep = np.random.default_rng(seed).choice(len(mols), DIVERSITY_SAMPLE, replace=False)
        mols = [mols[i] for i in keep]
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    fps = [generator.GetFingerprint(m) for m in mols]
    total = sum(sum(DataStructs.BulkTanimotoSimilarity(fps[i], fps[i + 1:])) for i in range(len(fps) - 1))
    return 1.0 - total / (len(fps) * (len(fps) - 1) / 2)


def frechet_chemnet_distance(generated: list[str], reference: list[str]) -> float:
    """FCD between two sets of SMILES with the ChemNet weights fcd_torch ships (nothing downloaded)."""
    fcd_torch = require("fcd_torch", "science")
    return float(fcd_torch.FCD(device="cpu", n_jobs=1, batch_size=256)(generated, reference))


def molecule_metrics(generated: list[str], train: list[str], heldout: list[str], *, fcd: bool = True,
                     seed: int = 0) -> dict[str, float]:
    """Validity, uniqueness, novelty, internal diversity, per-property KS and Wasserstein distances
    to `heldout` (each over the valid generated molecules), and the FCD when `fcd`."""
    Chem = require("rdkit.Chem", "science")
    mols = molecules(generated)
    canonical = [Chem.MolToSmiles(m) for m in mols]
    unique = set(canonical)
    known = {canonical_smiles(s) for s in train}
    out = {"n": float(len(generated)), "validity": len(mols) / max(len(generated), 1),
           "uniqueness": len(unique) / max(len(mols), 1),
           "novelty": len(unique - known) / max(len(unique), 1),
           "internal_diversity": internal_diversity(mols, seed)}
    ours, theirs = properties(mols), properties(molecules(heldout))
    for name in PROPERTIES:
        if len(ours):
            out[f"ks_{name}"] = float(ks_2samp(ours[name], theirs[name]).statistic)
            out[f"w1_{name}"] = float(wasserstein_distance(ours[name], theirs[name]))
        else:
            out[f"ks_{name}"] = out[f"w1_{name}"] = float("nan")
    if fcd:
        out["fcd"] = frechet_chemnet_distance(canonical, heldout) if len(canonical) > 1 else float("nan")
    return out
