"""Report figures (matplotlib, Agg): marginals, correlation heatmaps, training-loss curves, as PNG bytes."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping

import numpy as np
import pandas as pd

from qedm.data.temporal import seconds_series, temporal_kind

MAX_COLUMNS = 12  # marginal plots beyond this many columns stop being readable
MAX_CATEGORIES = 15


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def figure_png(fig) -> bytes:
    """Render a figure to PNG bytes and close it."""
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    """A data: URI for an <img src=...> that needs no file beside the HTML."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def marginal_histograms(real: pd.DataFrame, synthetic: Mapping[str, pd.DataFrame]) -> bytes:
    """One panel per (column, model): real vs synthetic histogram (numeric) or frequencies (categorical)."""
    plt = _pyplot()
    columns = list(real.columns)[:MAX_COLUMNS]
    models = list(synthetic)
    fig, axes = plt.subplots(len(columns), max(len(models), 1), squeeze=False,
                             figsize=(3.2 * max(len(models), 1), 2.3 * len(columns)))
    for i, column in enumerate(columns):
        for j, model in enumerate(models):
            ax = axes[i][j]
            fake = synthetic[model]
            if column not in fake:
                ax.set_axis_off()
                continue
            if _is_numeric(real[column]):
                _numeric_panel(ax, real[column], fake[column])
            else:
                _categorical_panel(ax, real[column], fake[column])
            ax.set_title(f"{model}: {column}", fontsize=8)
            ax.tick_params(labelsize=6)
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    return figure_png(fig)


def _is_numeric(values: pd.Series) -> bool:
    """Numbers, datetimes and timedeltas are plotted as numbers; bools and the rest as categories."""
    if temporal_kind(values.dtype) is not None:
        return True
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _as_numbers(values: pd.Series) -> pd.Series:
    """float values of a numeric column (datetimes: seconds since the epoch), NaN where unparseable."""
    if temporal_kind(values.dtype) is not None:
        return seconds_series(values)
    return pd.to_numeric(values, errors="coerce")


def _numeric_panel(ax, real: pd.Series, fake: pd.Series) -> None:
    real = _as_numbers(real).dropna()
    fake = _as_numbers(fake).dropna()
    low, high = np.nanpercentile(np.concatenate([real, fake]) if len(fake) else real, [0.5, 99.5])
    bins = np.linspace(low, high if high > low else low + 1.0, 25)
    ax.hist(real, bins=bins, density=True, alpha=0.5, label="real", color="tab:blue")
    ax.hist(fake, bins=bins, density=True, alpha=0.5, label="synthetic", color="tab:orange")


def _categorical_panel(ax, real: pd.Series, fake: pd.Series) -> None:
    real_freq = real.astype(str).value_counts(normalize=True)
    fake_freq = fake.astype(str).value_counts(normalize=True)
    categories = list(real_freq.index[:MAX_CATEGORIES])
    x = np.arange(len(categories))
    ax.bar(x - 0.2, [real_freq.get(c, 0.0) for c in categories], width=0.4, label="real", color="tab:blue")
    ax.bar(x + 0.2, [fake_freq.get(c, 0.0) for c in categories], width=0.4, label="synthetic",
           color="tab:orange")
    ax.set_xticks(x)
    ax.set_xticklabels(categories, rotation=45, ha="right")


def association_matrix(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Pearson correlation of numeric columns and category codes (codes sorted by label)."""
    encoded = pd.DataFrame(index=frame.index)
    for column in columns:
        values = frame[column]
        if _is_numeric(values):
            encoded[column] = _as_numbers(values)
        else:
            encoded[column] = pd.Categorical(values.astype(str), categories=sorted(values.astype(str).unique())).codes
    return encoded.corr().fillna(0.0)


def correlation_heatmaps(real: pd.DataFrame, synthetic: Mapping[str, pd.DataFrame]) -> bytes:
    """Side-by-side correlation heatmaps: the real table first, then each model's sample."""
    plt = _pyplot()
    columns = list(real.columns)[:MAX_COLUMNS]
    tables = {"real": real, **{m: f for m, f in synthetic.items() if set(columns) <= set(f.columns)}}
    fig, axes = plt.subplots(1, len(tables), squeeze=False, figsize=(3.4 * len(tables), 3.4))
    image = None
    for ax, (name, frame) in zip(axes[0], tables.items()):
        matrix = association_matrix(frame, columns)
        image = ax.imshow(matrix.to_numpy(), vmin=-1, vmax=1, cmap="coolwarm")
        ax.set_title(name, fontsize=9)
        ax.set_xticks(range(len(columns)))
        ax.set_yticks(range(len(columns)))
        ax.set_xticklabels(columns, rotation=90, fontsize=6)
        ax.set_yticklabels(columns, fontsize=6)
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8)
    return figure_png(fig)


def loss_curves(histories: Mapping[str, Mapping[int, list[dict]]]) -> bytes:
    """Training loss per epoch, one panel per model, one line per seed (model -> seed -> history)."""
    plt = _pyplot()
    models = [m for m, runs in histories.items() if any(runs.values())] or ["(no histories)"]
    fig, axes = plt.subplots(1, len(models), squeeze=False, figsize=(3.4 * len(models), 2.8))
    for ax, model in zip(axes[0], models):
        for seed, run in histories.get(model, {}).items():
            epochs = [r.get("epoch", i + 1) for i, r in enumerate(run)]
            ax.plot(epochs, [r.get("loss", np.nan) for r in run], marker="." if len(run) < 20 else None,
                    label=f"seed {seed}")
        ax.set_title(model, fontsize=9)
        ax.set_xlabel("epoch", fontsize=7)
        ax.set_ylabel("loss", fontsize=7)
        ax.tick_params(labelsize=6)
        if ax.lines:
            ax.legend(fontsize=6)
    fig.tight_layout()
    return figure_png(fig)
