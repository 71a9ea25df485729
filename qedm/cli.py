"""The `qedm` command line: parses, calls the API, prints. No logic of its own."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from qedm.errors import QEDMError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Quantum-enhanced diffusion models for synthetic data.")
console = Console()
err_console = Console(stderr=True)


def friendly_errors(command):
    """Print a QEDMError as one line and exit 1, instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except QEDMError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(code=1) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]: run the same command again to resume")
            raise typer.Exit(code=130) from None

    return wrapper


@app.command()
@friendly_errors
def datasets() -> None:
    """List the bundled datasets (all offline, from installed packages)."""
    from qedm.data.datasets import list_datasets

    table = Table(title="bundled datasets")
    for column in ("name", "rows", "columns", "column kinds", "target", "description"):
        table.add_column(column)
    for info in list_datasets():
        table.add_row(info.name, str(info.n_rows), str(info.n_columns), info.kinds,
                      str(info.target), info.description)
    console.print(table)


@app.command()
@friendly_errors
def fit(
    data: Optional[Path] = typer.Argument(None, help="CSV/TSV/Parquet/JSON table to learn"),
    out: Path = typer.Option(..., "--out", "-o", help="run directory to write (resumed if it exists)"),
    dataset: Optional[str] = typer.Option(None, help="a bundled dataset instead of DATA (see `qedm datasets`)"),
    denoiser: Optional[str] = typer.Option(None, help="classical | hybrid | quantum"),
    epochs: Optional[int] = typer.Option(None, help="training epochs"),
    n_qubits: Optional[int] = typer.Option(None, help="qubits of the circuit"),
    n_layers: Optional[int] = typer.Option(None, help="variational layers of the circuit"),
    latent: Optional[str] = typer.Option(None, help="auto | none | pca | ae"),
    noise: Optional[str] = typer.Option(None, help="prng | qrng (simulated QRNG bits are pseudo-random)"),
    condition: Optional[str] = typer.Option(None, "--condition-column", help="class column for conditional sampling"),
    seed: Optional[int] = typer.Option(None, help="random seed"),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML/JSON file of config values"),
    fresh: bool = typer.Option(False, "--fresh", help="start over instead of resuming"),
) -> None:
    """Train a QEDM on a table and write the run directory (config, metrics, model, samples)."""
    from qedm.runs import fit_run, load_training_data, resolve_config

    training = load_training_data(data, dataset)
    cfg = resolve_config(config, denoiser=denoiser, epochs=epochs, n_qubits=n_qubits,
                         n_layers=n_layers, latent=latent, noise=noise,
                         condition_column=condition, seed=seed)
    console.print(f"fitting a [bold]{cfg.denoiser}[/] QEDM on {training.source}: "
                  f"{training.shape_text} -> {out}")
    with _progress() as progress:
        task = progress.add_task("training", total=cfg.epochs)

        def on_epoch(record: dict) -> None:
            progress.update(task, completed=record["epoch"], description=f"loss {record['loss']:.4f}")

        summary = fit_run(training, cfg, out, on_epoch=on_epoch, fresh=fresh)
    console.print(f"done in {summary['fit_seconds']:.1f} s of training; parameters "
                  f"{summary['parameters']}; model and samples in {out}")


@app.command()
@friendly_errors
def sample(
    run_dir: Path = typer.Argument(..., help="a run directory written by `qedm fit`"),
    n: int = typer.Option(..., "-n", help="number of rows (or images) to draw"),
    output: Path = typer.Option(..., "-o", "--output", help="CSV for tables, .npy for images"),
    sampler: Optional[str] = typer.Option(None, help="ddpm | ddim | dpm_solver"),
    steps: Optional[int] = typer.Option(None, help="denoising steps (ddpm uses all)"),
    seed: Optional[int] = typer.Option(None, help="random seed (same seed, same samples)"),
    condition: list[str] = typer.Option([], "--condition", help="COLUMN=VALUE, e.g. target=1"),
    grid: Optional[Path] = typer.Option(None, help="PNG grid of the images (image runs)"),
) -> None:
    """Draw synthetic rows from a trained run and write them atomically."""
    from qedm.runs import parse_conditions, sample_run

    conditions = parse_conditions(condition)
    with _progress() as progress:
        task = progress.add_task("sampling", total=None)
        written = sample_run(run_dir, n, output, sampler=sampler, steps=steps, seed=seed,
                             conditions=conditions, grid=grid,
                             progress=lambda *_: progress.advance(task))
    console.print(f"wrote {n} samples to {', '.join(map(str, written))}")


@app.command()
@friendly_errors
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="where to write everything"),
    epochs: Optional[int] = typer.Option(None, help="override the demo's training epochs"),
    seed: int = typer.Option(0, help="random seed"),
) -> None:
    """Breast-cancer records: train a hybrid and a classical QEDM with one budget, compare them."""
    from qedm.demo import DEMO_MODELS, run_demo

    with _progress() as progress:
        tasks = {name: progress.add_task(f"{name}: waiting", total=1) for name in DEMO_MODELS}

        def on_update(name: str, stage: str, done: int, total: int) -> None:
            progress.update(tasks[name], description=f"{name}: {stage}", completed=done, total=total)

        result = run_demo(out, epochs=epochs, seed=seed, on_update=on_update)
    console.print(result.table())
    console.print(result.verdict())
    console.print(f"everything is under {out}/ (summary.json, summary.md, samples, models)")


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
