"""The `qedm` command line: parses, calls the API, prints. No logic of its own."""

from __future__ import annotations

import functools
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
def devices() -> None:
    """List the calibrated devices available offline (qiskit-ibm-runtime fake backends) and check them."""
    from qedm.quantum.devices import list_devices

    table = Table(title="calibrated devices (offline snapshots)")
    for column in ("name", "qubits", "T1 us", "T2 us", "1q err", "2q err", "readout err", "1q/2q/readout ns",
                   "calibrated"):
        table.add_column(column)
    summaries = list_devices()
    for s in summaries:
        table.add_row(s.name, str(s.n_qubits), f"{s.t1_us:.0f}", f"{s.t2_us:.0f}", f"{s.error_1q:.2e}",
                      f"{s.error_2q:.2e}", f"{s.readout_error:.3f}",
                      f"{s.duration_1q_ns:.0f}/{s.duration_2q_ns:.0f} ({s.two_qubit_gate})/{s.readout_ns:.0f}",
                      s.calibration_date[:10])
    console.print(table)
    for s in summaries:
        if s.problems:
            console.print(f"[yellow]calibration warning[/] {s.name}: {len(s.problems)} violation(s), e.g. "
                          f"{s.problems[0]}", highlight=False)


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
    backend: Optional[str] = typer.Option(None, help="statevector | density | reference | a device (`qedm devices`)"),
    shots: Optional[int] = typer.Option(None, help="shots per circuit evaluation (default: exact expectations)"),
    gradient: Optional[str] = typer.Option(None, help="backprop | parameter-shift | spsa"),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML/JSON file of config values"),
    fresh: bool = typer.Option(False, "--fresh", help="start over instead of resuming"),
) -> None:
    """Train a QEDM on a table and write the run directory (config, metrics, model, samples)."""
    from qedm.runs import fit_run, load_training_data, resolve_config

    training = load_training_data(data, dataset)
    cfg = resolve_config(config, denoiser=denoiser, epochs=epochs, n_qubits=n_qubits,
                         n_layers=n_layers, latent=latent, noise=noise,
                         condition_column=condition, seed=seed, backend=backend, shots=shots,
                         gradient=gradient)
    console.print(f"fitting a [bold]{cfg.denoiser}[/] QEDM on {training.source}: "
                  f"{training.shape_text} -> {out}")
    if (out / "checkpoint.pt").is_file() and not fresh:
        console.print(f"resuming from the checkpoint in {out} (pass --fresh to start over)")
    with _progress() as progress:
        task = progress.add_task("training", total=cfg.epochs)

        def on_epoch(record: dict) -> None:
            progress.update(task, completed=record["epoch"], description=f"loss {record['loss']:.4f}")

        summary = fit_run(training, cfg, out, on_epoch=on_epoch, fresh=fresh)
    console.print(f"done in {summary['fit_seconds']:.1f} s of training; parameters "
                  f"{summary['parameters']}; model and samples in {out}")
    if summary["reconstruction_error"] is not None:
        console.print(f"latent {summary['latent']}: reconstruction MSE {summary['reconstruction_error']:.4f} "
                      "(on the transformed training rows)")


@app.command()
@friendly_errors
def sample(
    run_dir: Path = typer.Argument(..., help="a run directory written by `qedm fit`"),
    n: int = typer.Option(..., "-n", help="number of rows (or images) to draw"),
    output: Path = typer.Option(..., "-o", "--output", help="CSV for tables, .npy for images"),
    sampler: Optional[str] = typer.Option(None, help="dpm_solver_sde (default) | ddpm | ddim | dpm_solver"),
    steps: Optional[int] = typer.Option(None, help="denoising steps = model evaluations (default: ddpm 200, ddim 50, dpm_solver and dpm_solver_sde 20)"),
    seed: Optional[int] = typer.Option(None, help="random seed (same seed, same samples)"),
    condition: list[str] = typer.Option([], "--condition", help="COLUMN=VALUE, e.g. target=1"),
    grid: Optional[Path] = typer.Option(None, help="PNG grid of the images (image runs)"),
    backend: Optional[str] = typer.Option(None, help="run the circuits on a device (see `qedm devices`)"),
    shots: Optional[int] = typer.Option(None, help="shots per circuit on --backend (default: exact)"),
    mitigation: str = typer.Option("none", help="none | readout | zne | readout+zne (with --backend)"),
) -> None:
    """Draw synthetic rows from a trained run and write them atomically."""
    from qedm.runs import parse_conditions, sample_run

    conditions = parse_conditions(condition)
    with _progress() as progress:
        task = progress.add_task("sampling", total=None)
        written = sample_run(run_dir, n, output, sampler=sampler, steps=steps, seed=seed,
                             conditions=conditions, grid=grid, device=backend, shots=shots,
                             mitigation=mitigation, progress=lambda step, total: progress.update(task, completed=step, total=total))
    console.print(f"wrote {n} samples to {', '.join(map(str, written))}")
    if backend is not None:
        import json

        prov = json.loads(Path(written[-1]).read_text())
        console.print(f"device {prov['backend']} ({prov['engine']}): {prov['circuit_executions']} circuit executions, "
                      f"{prov['total_shots']} shots, ~{prov['estimated_qpu_seconds']:.0f} QPU s estimated, "
                      f"{len(prov['fallbacks'])} fallback(s)", highlight=False)


@app.command()
@friendly_errors
def benchmark(
    data: Optional[Path] = typer.Argument(None, help="CSV/TSV/Parquet/JSON table (or use --dataset)"),
    dataset: Optional[str] = typer.Option(None, help="a bundled dataset instead of DATA (see `qedm datasets`)"),
    models: str = typer.Option("hybrid,classical,gaussian_copula,ctgan,tvae",
                               help="comma-separated: hybrid, quantum, classical, gaussian_copula, ctgan, tvae"),
    seeds: str = typer.Option("3", help="a count (3 -> seeds 0,1,2) or a comma-separated list (0,5,7)"),
    out: Path = typer.Option(Path("runs/benchmark"), "--out", "-o",
                             help="output directory (finished cells are reused unless --fresh)"),
    target: Optional[str] = typer.Option(None, help="target column for utility and the stratified split "
                                                    "(default: the bundled dataset's target)"),
    test_size: float = typer.Option(0.3, help="holdout fraction of each seed's split"),
    epochs: Optional[int] = typer.Option(None, help="training epochs of every trained model"),
    sdv_epochs: Optional[int] = typer.Option(None, help="epochs of CTGAN/TVAE (default: --epochs)"),
    n_qubits: Optional[int] = typer.Option(None, help="qubits of the hybrid/quantum circuit"),
    n_layers: Optional[int] = typer.Option(None, help="variational layers of the circuit"),
    metrics: Optional[str] = typer.Option(None, help="comma-separated metric groups of qedm.evaluate "
                                                     "(default: all)"),
    fresh: bool = typer.Option(False, "--fresh", help="ignore earlier results in --out and start over"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show progress bars"),
) -> None:
    """Benchmark QEDM denoisers against classical baselines on the same splits; write an HTML report."""
    from qedm.benchmark import run_benchmark
    from qedm.report.summary import format_mean_std
    from qedm.errors import ConfigError

    if (data is None) == (dataset is None):
        raise ConfigError("give either a DATA file or --dataset NAME (not both)")
    try:
        seed_list = int(seeds) if "," not in seeds else [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds must be a count or a comma-separated list of integers, got {seeds!r}") from None
    from qedm.training import torch_threads

    options = {k: v for k, v in {"n_qubits": n_qubits, "n_layers": n_layers}.items() if v is not None}
    with torch_threads(1):  # the SDV models too: small nets, one thread avoids oversubscription
        result = run_benchmark(
        str(data) if data is not None else dataset,
            [m.strip() for m in models.split(",") if m.strip()],
            seed_list, out, target=target, test_size=test_size, epochs=epochs, progress=progress,
            fresh=fresh, sdv_epochs=sdv_epochs, qedm_options=options or None,
            metrics=[m.strip() for m in metrics.split(",") if m.strip()] if metrics else None,
        )
    key = ["fidelity_overall", "c2st_auc", "tstr_accuracy", "tstr_r2", "mmd_rbf", "dcr_synthetic_median",
           "params_total", "fit_seconds"]
    shown = [k for k in key if f"{k}_mean" in result.summary]
    table = Table(title=f"benchmark (mean ± std over {len(set(result.results['seed']))} seeds)")
    for column in ["model", "ok/failed", *shown]:
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in result.summary.itertuples():
        cells = [format_mean_std(getattr(row, f"{k}_mean"), getattr(row, f"{k}_std")) for k in shown]
        table.add_row(row.model, f"{row.n_ok}/{row.n_failed}", *cells)
    console.print(table)
    for sentence in result.comparisons:
        console.print(f"- {sentence}", highlight=False, markup=False)
    console.print("quantum circuits ran on a classical simulator; see summary.md for every metric")
    failed = result.results[result.results["status"] != "ok"]
    for row in failed.itertuples():
        err_console.print(f"[yellow]failed[/]: {row.model} seed {row.seed}: {row.error}", highlight=False)
    console.print(f"report: {result.files['report.html']}")


@app.command()
@friendly_errors
def evaluate(
    real: Path = typer.Argument(..., help="held-out real table (rows the generator never saw)"),
    synthetic: Path = typer.Argument(..., help="synthetic table to score"),
    train: Optional[Path] = typer.Option(None, help="the rows the generator was fitted on (enables privacy)"),
    target: Optional[str] = typer.Option(None, help="target column (enables TSTR/TRTR utility)"),
    metrics: Optional[str] = typer.Option(None, help="comma-separated metric groups (default: all)"),
    seed: int = typer.Option(0, help="random seed of the detectors and utility models"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the full result as JSON here"),
) -> None:
    """Score a synthetic table against real data: fidelity, detection, utility, diversity, privacy, MMD."""
    from qedm.atomic import atomic_write_text
    from qedm.data import read_table
    from qedm.evaluate import METRICS
    from qedm.evaluate import evaluate as run_evaluate

    chosen = tuple(m.strip() for m in metrics.split(",") if m.strip()) if metrics else METRICS
    result = run_evaluate(read_table(real), read_table(synthetic),
                          train=read_table(train) if train is not None else None,
                          target=target, seed=seed, metrics=chosen)
    table = Table(title=f"{synthetic} vs {real}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in result.summary().items():
        table.add_row(name, "n/a" if value is None else f"{value:.4g}")
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)
    if json_out is not None:
        atomic_write_text(json_out, result.to_json())
        console.print(f"wrote {json_out}")


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
