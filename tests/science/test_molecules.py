"""Molecules: the SELFIES codec, the MOSES subsample, the RDKit metrics and a tiny fit."""

import importlib.util
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("rdkit")
pytest.importorskip("selfies")

from rdkit import Chem, DataStructs  # noqa: E402
from rdkit.Chem import QED, Crippen, Descriptors, rdFingerprintGenerator  # noqa: E402
from scipy.stats import ks_2samp, wasserstein_distance  # noqa: E402

from qedm.errors import DataError, MissingExtraError  # noqa: E402
from qedm.science import chemistry, molecules  # noqa: E402

SMILES = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "C1CCNCC1", "OC(=O)c1ccccc1C", "CCN(CC)CC", "ClC=CCl",
          "O=C1CCCCC1", "Cc1ncccc1", "NCCS", "CC(C)Cc1ccc(C(C)C(=O)O)cc1", "FC(F)(F)c1ccccc1"]


def canon(s):
    return Chem.MolToSmiles(Chem.MolFromSmiles(s))


def test_selfies_round_trip_is_exact():
    codec = molecules.SelfiesCodec.fit(SMILES)
    tokens = codec.encode(SMILES)
    assert tokens.shape == (len(SMILES), codec.max_tokens) and codec.vocabulary[0] == molecules.PAD
    assert codec.decode(tokens) == [canon(s) for s in SMILES]
    restored = molecules.SelfiesCodec.from_dict(codec.to_dict())
    assert restored.decode(restored.encode(SMILES)) == [canon(s) for s in SMILES]


def test_codec_rejects_what_it_cannot_encode():
    codec = molecules.SelfiesCodec.fit(SMILES[:3])
    assert not codec.encodable("CCBr") and codec.encodable("CCO")
    with pytest.raises(DataError, match="column 'mol'.*Br"):
        codec.encode(["CCBr"], column="mol")


def test_any_token_sequence_decodes_to_a_valid_molecule():
    codec = molecules.SelfiesCodec.fit(SMILES)
    random_tokens = np.random.default_rng(0).integers(1, codec.size, size=(50, codec.max_tokens))
    assert all(Chem.MolFromSmiles(s) is not None for s in codec.decode(random_tokens) if s)


def test_metrics_equal_direct_rdkit_computations():
    generated = ["CCO", "CCO", "c1ccccc1", "not a smiles", "CCCN", "OCCO"]
    train, heldout = ["CCO", "CCC"], ["CCN", "c1ccccc1C", "CC(=O)O", "CCCCO"]
    got = chemistry.molecule_metrics(generated, train, heldout, fcd=False)
    valid = [Chem.MolFromSmiles(s) for s in generated if Chem.MolFromSmiles(s) is not None]
    unique = {Chem.MolToSmiles(m) for m in valid}
    assert got["validity"] == pytest.approx(5 / 6)
    assert got["uniqueness"] == pytest.approx(len(unique) / 5)
    assert got["novelty"] == pytest.approx(len(unique - {"CCO", "CCC"}) / len(unique))
    ref = [Chem.MolFromSmiles(s) for s in heldout]
    for name, fn in (("qed", QED.qed), ("logp", Crippen.MolLogP), ("mol_weight", Descriptors.MolWt)):
        a, b = [fn(m) for m in valid], [fn(m) for m in ref]
        assert got[f"w1_{name}"] == pytest.approx(wasserstein_distance(a, b))
        assert got[f"ks_{name}"] == pytest.approx(ks_2samp(a, b).statistic)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    fps = [gen.GetFingerprint(m) for m in valid]
    sims = [DataStructs.TanimotoSimilarity(fps[i], fps[j]) for i in range(5) for j in range(i + 1, 5)]
    assert got["internal_diversity"] == pytest.approx(1 - np.mean(sims))


def test_shuffled_baseline_keeps_valid_molecules():
    out = molecules.shuffled_tokens(SMILES, seed=0)
    assert len(out) == len(SMILES) and all(Chem.MolFromSmiles(s) is not None for s in out if s)


def test_moses_loader_subsamples_offline():
    if importlib.util.find_spec("moses") is None:  # not imported: its own __init__ needs its pinned deps
        pytest.skip("needs molsets: pip install --no-deps molsets")
    df = molecules.moses_subsample("test", 20, 30, seed=1)
    again = molecules.moses_subsample("test", 20, 30, seed=1)
    assert list(df.columns) == ["smiles"] and len(df) == 20 and df.equals(again)
    codec = molecules.SelfiesCodec.fit(df["smiles"].tolist())
    assert codec.max_tokens <= 30
    with pytest.raises(DataError, match="split"):
        molecules.load_moses_small("valid")


def test_missing_data_package_names_molsets(monkeypatch):
    monkeypatch.setattr(molecules.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match=r"molsets.*pip install --no-deps molsets"):
        molecules.moses_file("train")


def test_missing_extra_is_one_line_naming_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "selfies", None)  # import selfies now raises ImportError
    with pytest.raises(MissingExtraError, match=r"^[^\n]*qedm\[science\][^\n]*$"):
        molecules.SelfiesCodec.fit(["CCO"])


def test_tiny_fit_and_sample_give_valid_smiles():
    from qedm import QEDM

    table = pd.DataFrame({"smiles": SMILES * 3})
    model = QEDM(denoiser="classical", hidden=64, epochs=2, column_kinds={"smiles": "smiles"}).fit(table)
    out = model.sample(20, seed=1)["smiles"]
    assert len(out) == 20 and all(isinstance(s, str) for s in out)
    assert all(Chem.MolFromSmiles(s) is not None for s in out if s)


def test_cli_evaluate_molecules_reports_the_metrics(tmp_path):
    import json

    from typer.testing import CliRunner

    from qedm.cli import app

    pd.DataFrame({"smiles": SMILES[:6]}).to_csv(tmp_path / "real.csv", index=False)
    pd.DataFrame({"smiles": SMILES[3:9]}).to_csv(tmp_path / "train.csv", index=False)
    pd.DataFrame({"smiles": ["CCO", "CCCO", "CCCO", "c1ccccc1"]}).to_csv(tmp_path / "synth.csv", index=False)
    out = tmp_path / "m.json"
    result = CliRunner().invoke(app, ["evaluate", str(tmp_path / "real.csv"), str(tmp_path / "synth.csv"),
                                      "--molecules", "smiles", "--train", str(tmp_path / "train.csv"),
                                      "--json", str(out)])
    assert result.exit_code == 0, result.output
    values = json.loads(out.read_text())
    direct = chemistry.molecule_metrics(["CCO", "CCCO", "CCCO", "c1ccccc1"], SMILES[3:9], SMILES[:6], fcd=False)
    assert values == pytest.approx(direct) and values["uniqueness"] == pytest.approx(3 / 4)
    bad = CliRunner().invoke(app, ["evaluate", str(tmp_path / "real.csv"), str(tmp_path / "synth.csv"),
                                   "--molecules", "mol"])
    assert bad.exit_code != 0 and "'mol' is not a column of REAL" in bad.output


@pytest.mark.slow
def test_cli_fit_moses_small_and_sample_write_smiles(tmp_path):
    from typer.testing import CliRunner

    from qedm.cli import app

    if importlib.util.find_spec("moses") is None:
        pytest.skip("needs molsets: pip install --no-deps molsets")
    run = tmp_path / "run"
    fitted = CliRunner().invoke(app, ["fit", "--dataset", "moses_small", "--denoiser", "classical", "--hidden", "64",
                                      "--epochs", "1", "--out", str(run)])
    assert fitted.exit_code == 0, fitted.output
    sampled = CliRunner().invoke(app, ["sample", str(run), "-n", "30", "-o", str(tmp_path / "s.csv")])
    assert sampled.exit_code == 0, sampled.output
    smiles = pd.read_csv(tmp_path / "s.csv")["smiles"].dropna()
    assert len(smiles) > 20 and all(Chem.MolFromSmiles(s) is not None for s in smiles)
