"""The model manifest: written by QEDM.save, and a changed, truncated or missing file refused."""

from __future__ import annotations

import json
import shutil

import pytest

from qedm.integrity import MANIFEST_FILE, IntegrityError, file_sha256, verify_manifest
from qedm.synthesizer import MODEL_FILES


@pytest.fixture
def model_copy(iris_model_dir, tmp_path):
    return shutil.copytree(iris_model_dir, tmp_path / "model")


def test_save_writes_a_manifest_of_every_model_file(iris_model_dir):
    import hashlib

    manifest = json.loads((iris_model_dir / MANIFEST_FILE).read_text())
    assert sorted(manifest["files"]) == sorted(MODEL_FILES)
    weights = (iris_model_dir / "weights.pt").read_bytes()
    assert manifest["files"]["weights.pt"] == {"sha256": hashlib.sha256(weights).hexdigest(), "bytes": len(weights)}
    assert file_sha256(iris_model_dir / "weights.pt") == hashlib.sha256(weights).hexdigest()
    verify_manifest(iris_model_dir, MODEL_FILES)


def test_a_changed_byte_is_refused(model_copy):
    path = model_copy / "weights.pt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"weights\.pt was changed after it was saved"):
        verify_manifest(model_copy, MODEL_FILES)


def test_a_truncated_file_is_refused(model_copy):
    path = model_copy / "transform.json"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(IntegrityError, match=r"transform\.json is truncated or changed"):
        verify_manifest(model_copy, MODEL_FILES)


def test_missing_manifest_or_uncovered_file_is_refused(model_copy):
    manifest = json.loads((model_copy / MANIFEST_FILE).read_text())
    del manifest["files"]["weights.pt"]
    (model_copy / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(IntegrityError, match=r"does not cover weights\.pt"):
        verify_manifest(model_copy, MODEL_FILES)
    (model_copy / MANIFEST_FILE).unlink()
    with pytest.raises(IntegrityError, match="has no manifest.json"):
        verify_manifest(model_copy, MODEL_FILES)


def test_serve_refuses_a_tampered_model_before_binding(model_copy, tmp_path):
    from typer.testing import CliRunner

    from qedm.cli import app
    from qedm.serve.keys import add_key

    keys = tmp_path / "keys.toml"
    add_key(keys, "k", ["*"], 10, 10)
    path = model_copy / "latent.json"
    path.write_text(path.read_text().replace("}", " }", 1))
    result = CliRunner().invoke(app, ["serve", str(model_copy), "--keys", str(keys), "--port", "1"])
    assert result.exit_code == 1
    output = " ".join(result.output.split())  # rich wraps long lines
    assert "latent.json is truncated or changed" in output and "Traceback" not in output
