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
    table.add_column("name", no_wrap=True)  # names are what users type: never cut them
    for column in ("rows", "columns", "column kinds", "target", "description"):
        table.add_column(column, overflow="fold")
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
    hidden: Optional[int] = typer.Option(None, help="width of the classical/hybrid trunk (>= the data width "
                                                    "for wide tables, e.g. 1024 for moses_small)"),
    latent: Optional[str] = typer.Option(None, help="auto | none | pca | ae"),
    noise: Optional[str] = typer.Option(None, help="prng | qrng (simulated QRNG bits are pseudo-random)"),
    condition: Optional[str] = typer.Option(None, "--condition-column", help="class column for conditional sampling"),
    seed: Optional[int] = typer.Option(None, help="random seed"),
    backend: Optional[str] = typer.Option(None, help="statevector | density | reference | a device (`qedm devices`)"),
    shots: Optional[int] = typer.Option(None, help="shots per circuit evaluation (default: exact expectations)"),
    gradient: Optional[str] = typer.Option(None, help="backprop | parameter-shift | spsa"),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML/JSON file of config values"),
    fresh: bool = typer.Option(False, "--fresh", help="start over instead of resuming"),
    dp_epsilon: Optional[float] = typer.Option(None, help="train with (epsilon, delta)-DP: DP-SGD + DP transform"),
    dp_delta: Optional[float] = typer.Option(None, help="delta of the DP guarantee (default 1e-5)"),
    dp_max_grad_norm: Optional[float] = typer.Option(None, help="per-sample gradient clip C of DP-SGD (default 1)"),
    dp_public_categories: Optional[bool] = typer.Option(None, "--dp-public-categories",
                                                        help="category labels are public (a codebook lists them)"),
    dp_prior: Optional[str] = typer.Option(None, help="gaussian (default: the denoiser learns the residual over a "
                                                     "DP Gaussian-copula prior) or none (plain DP-SGD)"),
) -> None:
    """Train a QEDM on a table and write the run directory (config, metrics, model, samples, card)."""
    from qedm.runs import fit_run, load_training_data, resolve_config

    training = load_training_data(data, dataset)
    cfg = resolve_config(config, training.fit_defaults, denoiser=denoiser, epochs=epochs, n_qubits=n_qubits,
                         n_layers=n_layers, hidden=hidden, latent=latent, noise=noise,
                         condition_column=condition, seed=seed, backend=backend, shots=shots,
                         gradient=gradient, dp_epsilon=dp_epsilon, dp_delta=dp_delta,
                         dp_max_grad_norm=dp_max_grad_norm, dp_public_categories=dp_public_categories,
                         dp_prior=dp_prior)
    console.print(f"fitting a [bold]{cfg.denoiser}[/] QEDM on {training.source}: "
                  f"{training.shape_text} -> {out}")
    if (out / "checkpoint.pt").is_file() and not fresh:
        console.print(f"resuming from the checkpoint in {out} (pass --fresh to start over)")
    with _progress() as progress:
        from qedm.scaling import training_length

        total = training_length(cfg.epochs, cfg.batch_size, len(training.data))[0]
        task = progress.add_task("training", total=total)

        def on_epoch(record: dict) -> None:
            shown = f"epsilon {record['epsilon']:.3f}" if "epsilon" in record else f"loss {record['loss']:.4f}"
            progress.update(task, completed=record["epoch"], description=shown)

        summary = _fit_maybe_distributed(fit_run, training, cfg, out, on_epoch=on_epoch, fresh=fresh)
    console.print(f"done in {summary['fit_seconds']:.1f} s of training; parameters "
                  f"{summary['parameters']}; model and samples in {out}")
    if summary.get("gradient_warning"):
        err_console.print(f"[bold yellow]warning:[/] {summary['gradient_warning']}", highlight=False)
    if summary["reconstruction_error"] is not None:
        console.print(f"latent {summary['latent']}: reconstruction MSE {summary['reconstruction_error']:.4f} "
                      "(on the transformed training rows)")
    console.print(f"privacy: {summary['privacy'] or 'none (no DP guarantee; pass --dp-epsilon)'}; "
                  f"model card in {out / 'card.md'}", highlight=False)


def _fit_maybe_distributed(fit_run, *args, **kwargs):
    """Under torchrun (WORLD_SIZE > 1) join the process group: DDP, one shard of each batch per rank."""
    from qedm import distributed

    if not distributed.launched_by_torchrun():
        return fit_run(*args, **kwargs)
    distributed.init_from_env()
    try:
        return fit_run(*args, **kwargs)
    finally:
        distributed.shutdown()


@app.command()
@friendly_errors
def sample(
    run_dir: Path = typer.Argument(..., help="a run directory written by `qedm fit`"),
    n: int = typer.Option(..., "-n", help="number of rows (or images) to draw"),
    output: Path = typer.Option(..., "-o", "--output", help="CSV for tables, .npy for images"),
    sampler: Optional[str] = typer.Option(None, help="dpm_solver_sde (default) | ddpm | ddim | dpm_solver"),
    steps: Optional[int] = typer.Option(None, help="denoising steps = model evaluations (default: ddpm 200, "
                                                   "ddim 50, dpm_solver and dpm_solver_sde 20)"),
    seed: Optional[int] = typer.Option(None, help="random seed (same seed, same samples)"),
    condition: list[str] = typer.Option([], "--condition", help="COLUMN=VALUE or a range such as age>=60 "
                                        "(<=, >, <, ==, !=); repeatable. A column the model was not fitted "
                                        "for is met by rejection sampling"),
    max_tries: int = typer.Option(100, help="rejection sampling draws at most MAX_TRIES x n candidate rows"),
    grid: Optional[Path] = typer.Option(None, help="PNG grid of the images (image runs)"),
    watermark_key: Optional[str] = typer.Option(None, help="embed a keyed watermark (32 hex characters)"),
    backend: Optional[str] = typer.Option(None, help="run the circuits on a device (see `qedm devices`)"),
    shots: Optional[int] = typer.Option(None, help="shots per circuit on --backend (default: exact)"),
    mitigation: str = typer.Option("none", help="none | readout | zne | readout+zne (with --backend)"),
) -> None:
    """Draw synthetic rows from a trained run and write them atomically."""
    from qedm.runs import parse_conditions, sample_run

    conditions = parse_conditions(condition)

    def on_rejection(stats) -> None:
        console.print(f"rejection sampling for {' and '.join(stats.conditions)}: {stats.accepted} of "
                      f"{stats.drawn} candidate rows accepted (acceptance rate {stats.acceptance_rate:.1%})",
                      highlight=False)

    with _progress() as progress:
        task = progress.add_task("sampling", total=None)
        written = sample_run(run_dir, n, output, sampler=sampler, steps=steps, seed=seed,
                             conditions=conditions, grid=grid, max_tries=max_tries, on_rejection=on_rejection,
                             watermark_key=watermark_key, device=backend, shots=shots, mitigation=mitigation,
                             progress=lambda step, total: progress.update(task, completed=step, total=total))
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
    suite: Optional[str] = typer.Option(None, help="'tables': every bundled real mixed-type table, "
                                                   "TabSyn-style metrics, ranked across tables"),
    max_rows: Optional[int] = typer.Option(None, help="with --suite: cap each table at this many rows"),
    tables: Optional[str] = typer.Option(None, help="with --suite: comma-separated subset of its tables"),
    models: str = typer.Option("hybrid,classical,gaussian_copula,ctgan,tvae",
                               help="comma-separated: hybrid, quantum, classical, gaussian_copula, ctgan, tvae"),
    seeds: str = typer.Option("5", help="a count (5 -> seeds 0..4) or a comma-separated list (0,5,7)"),
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
    executor: str = typer.Option("sequential", help="sequential | ray (each cell a Ray task; qedm[scale])"),
    address: Optional[str] = typer.Option(None, help="Ray cluster address (default: a local Ray instance)"),
) -> None:
    """Benchmark QEDM denoisers against classical baselines on the same splits; write an HTML report."""
    import pandas as pd

    from qedm.benchmark import run_benchmark
    from qedm.errors import ConfigError
    from qedm.report.summary import format_mean_std

    if (data is not None) + (dataset is not None) + (suite is not None) != 1:
        raise ConfigError("give exactly one of a DATA file, --dataset NAME or --suite NAME")
    try:
        seed_list = int(seeds) if "," not in seeds else [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds must be a count or a comma-separated list of integers, got {seeds!r}") from None
    from qedm.training import torch_threads

    options = {k: v for k, v in {"n_qubits": n_qubits, "n_layers": n_layers}.items() if v is not None}
    model_list = [m.strip() for m in models.split(",") if m.strip()]
    if suite is not None:
        from qedm.suite import run_suite

        with torch_threads(1):
            outcome = run_suite(suite, model_list, seed_list, out, max_rows=max_rows, epochs=epochs,
                                sdv_epochs=sdv_epochs, qedm_options=options or None, progress=progress, fresh=fresh,
                                tables=[t.strip() for t in tables.split(",") if t.strip()] if tables else None)
        _print_ranking(outcome.ranking)
        console.print(f"report: {outcome.files['suite_summary.md']}")
        return
    with torch_threads(1):  # the SDV models too: small nets, one thread avoids oversubscription
        result = run_benchmark(
        str(data) if data is not None else dataset,
            [m.strip() for m in models.split(",") if m.strip()],
            seed_list, out, target=target, test_size=test_size, epochs=epochs, progress=progress,
            fresh=fresh, sdv_epochs=sdv_epochs, qedm_options=options or None,
            metrics=[m.strip() for m in metrics.split(",") if m.strip()] if metrics else None,
            executor=executor, address=address,
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
    from qedm.report.ablation import ablation_rows

    for row in ablation_rows(result.results):  # does the circuit matter? (qedm.evaluate.ablation)
        console.print(f"- {row['model']}: {row['verdict']}", highlight=False, markup=False, soft_wrap=True)
    console.print("quantum circuits ran on a classical simulator; see summary.md for every metric")
    flagged = result.results[result.results.get("grad_flag", pd.Series(0.0, index=result.results.index)) > 0]
    for row in flagged.itertuples():
        err_console.print(f"[bold yellow]warning:[/] {row.model} seed {row.seed}: the circuit's gradient is zero or "
                          f"many orders below the classical one (ratio {row.grad_circuit_ratio:.3g}); "
                          "see the ablations in summary.md", highlight=False)
    failed = result.results[result.results["status"] != "ok"]
    for row in failed.itertuples():
        err_console.print(f"[yellow]failed[/]: {row.model} seed {row.seed}: {row.error}", highlight=False)
    console.print(f"report: {result.files['report.html']}")


def _print_ranking(ranking) -> None:
    table = Table(title="ranking across tables (mean rank, 1 = best)")
    for column in ranking.columns:
        table.add_column(str(column), justify="left" if column == "model" else "right")
    for row in ranking.itertuples(index=False):
        table.add_row(str(row[0]), *(f"{v:.2f}" for v in row[1:]))
    console.print(table)


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
    sensitive: Optional[str] = typer.Option(None, help="COL[,COL]: per-subgroup fidelity and TSTR fairness gaps"),
    run: Optional[Path] = typer.Option(None, "--run", help="a run directory whose model card gets this summary"),
    physics: Optional[str] = typer.Option(None, help="tfim: score snapshots against the exact ground state "
                                                     "(REAL = the training snapshots, for the baseline)"),
    boundary: str = typer.Option("periodic", help="--physics tfim: open | periodic chain"),
    coupling: float = typer.Option(1.0, help="--physics tfim: the coupling J"),
    other_basis: Optional[Path] = typer.Option(None, help="--physics tfim: synthetic snapshots in the other "
                                                          "basis (enables the energy per site)"),
    molecules: Optional[str] = typer.Option(None, help="COLUMN of SMILES: RDKit chemistry metrics against REAL "
                                                       "(novelty against --train); needs qedm[science]"),
    fcd: bool = typer.Option(False, "--fcd", help="--molecules: also the Frechet ChemNet Distance (slow)"),
) -> None:
    """Score a synthetic table against real data: fidelity, detection, utility, diversity, privacy, MMD."""
    from qedm.atomic import atomic_write_text
    from qedm.data import read_table

    if physics is not None:
        _print_physics(physics, read_table(real), read_table(synthetic), J=coupling, boundary=boundary,
                       other_basis=read_table(other_basis) if other_basis is not None else None, seed=seed,
                       json_out=json_out)
        return
    if molecules is not None:
        _print_molecules(molecules, read_table(real), read_table(synthetic),
                         read_table(train) if train is not None else None, fcd=fcd, seed=seed, json_out=json_out)
        return
    from qedm.evaluate import METRICS
    from qedm.evaluate import evaluate as run_evaluate
    from qedm.privacy.audit import privacy_audit
    from qedm.privacy.fairness import check_sensitive, fairness_scores

    chosen = tuple(m.strip() for m in metrics.split(",") if m.strip()) if metrics else METRICS
    real_frame, synthetic_frame = read_table(real), read_table(synthetic)
    train_frame = read_table(train) if train is not None else None
    groups = None
    if sensitive is not None:  # checked before any work, so a typo costs nothing
        groups = check_sensitive(real_frame.columns, [c.strip() for c in sensitive.split(",") if c.strip()])
    if run is not None:
        from qedm.privacy.card import read_card

        read_card(run)
    result = run_evaluate(real_frame, synthetic_frame, train=train_frame, target=target, seed=seed, metrics=chosen)
    extra = {}
    if "privacy" in chosen and train_frame is not None:
        extra.update(privacy_audit(train_frame, real_frame, synthetic_frame))
    fairness = None
    if groups is not None:
        fairness = fairness_scores(real_frame, synthetic_frame, groups, target=target, train=train_frame, seed=seed)
        extra.update(fairness.summary())
    table = Table(title=f"{synthetic} vs {real}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    summary = {**result.summary(), **extra}
    for name, value in summary.items():
        table.add_row(name, "n/a" if value is None else f"{value:.4g}")
    console.print(table)
    if fairness is not None:
        console.print(fairness.per_group.to_string(index=False), highlight=False, markup=False)
    for note in result.notes + ([] if fairness is None else fairness.notes):
        console.print(f"note: {note}", highlight=False)
    if json_out is not None:
        import json

        payload = result.to_dict()
        payload["summary"] = {k: v for k, v in summary.items()}
        if fairness is not None:
            payload["fairness_per_group"] = json.loads(fairness.per_group.to_json(orient="records"))
        atomic_write_text(json_out, json.dumps(payload, indent=2, default=str))
        console.print(f"wrote {json_out}")
    if run is not None:
        from qedm.privacy.card import add_evaluation

        add_evaluation(run, summary)
        console.print(f"added the evaluation summary to {run / 'card.json'}")


@app.command()
@friendly_errors
def card(
    run_dir: Path = typer.Argument(..., help="a run directory written by `qedm fit`"),
    as_json: bool = typer.Option(False, "--json", help="print card.json instead of card.md"),
) -> None:
    """Print a run's model card (data fingerprint, config, versions, privacy guarantee, evaluation)."""
    import json

    from qedm.privacy.card import card_markdown, read_card

    values = read_card(run_dir)
    typer.echo(json.dumps(values, indent=2) if as_json else card_markdown(values))


def _print_molecules(column: str, heldout, synthetic, train, *, fcd: bool, seed: int, json_out) -> None:
    """`qedm evaluate --molecules COLUMN`: validity, uniqueness, novelty, diversity, property distances."""
    import json

    from qedm.atomic import atomic_write_text
    from qedm.errors import ConfigError
    from qedm.science.chemistry import molecule_metrics

    for name, frame in (("REAL", heldout), ("SYNTHETIC", synthetic), ("--train", train)):
        if frame is not None and column not in frame.columns:
            raise ConfigError(f"--molecules {column!r} is not a column of {name}")
    known = [] if train is None else train[column].astype(str).tolist()
    result = molecule_metrics(synthetic[column].astype(str).tolist(), known, heldout[column].astype(str).tolist(),
                              fcd=fcd, seed=seed)
    table = Table(title=f"molecules in {column!r} vs REAL (novelty against " + ("--train)" if train is not None
                                                                               else "nothing: pass --train)"))
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in result.items():
        table.add_row(name, f"{value:.4g}")
    console.print(table)
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(result, indent=2))
        console.print(f"wrote {json_out}")


def _print_physics(name: str, training, synthetic, *, J, boundary, other_basis, seed, json_out) -> None:
    """`qedm evaluate --physics tfim`: one table of observables vs exact, model next to the baseline."""
    from qedm.atomic import atomic_write_text
    from qedm.errors import ConfigError
    from qedm.science.physics import PHYSICS_CHECKS, evaluate_tfim

    if name not in PHYSICS_CHECKS:
        raise ConfigError(f"--physics {name!r} is not one of: {', '.join(PHYSICS_CHECKS)}")
    report = evaluate_tfim(training, synthetic, J=J, boundary=boundary, other_basis=other_basis, seed=seed)
    table = Table(title=f"TFIM ({boundary}, J={J:g}): snapshots vs the exact ground state "
                        "(± shot-noise standard error; baseline: the nearest training field)")
    for column in ("h", "observable", "exact", "synthetic", "nearest-field"):
        table.add_column(column, justify="right")
    pivot = {(r.h, r.observable, r.source): r for r in report.itertuples()}
    for r in report[report["source"] == "synthetic"].itertuples():
        base = pivot.get((r.h, r.observable, "nearest_field_baseline"))
        if r.observable.startswith("tv_"):
            exact = f"floor {r.tv_floor:.3f}"
            cells = [f"{r.estimate:.3f}", "" if base is None else f"{base.estimate:.3f}"]
        else:
            exact = f"{r.exact:.3f}"
            cells = [f"{r.estimate:.3f} ± {r.stderr:.3f}",
                     "" if base is None else f"{base.estimate:.3f} ± {base.stderr:.3f}"]
        table.add_row(f"{r.h:g}", r.observable, exact, *cells)
    console.print(table)
    if json_out is not None:
        atomic_write_text(json_out, report.to_json(orient="records", indent=1))
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
    if result.rows.get("hybrid", {}).get("grad_flag"):
        err_console.print("[bold yellow]warning:[/] the hybrid's circuit gradient was zero or many orders below the "
                          "classical parameters' in the last epoch (grad_circuit_ratio in summary.json)",
                          highlight=False)
    console.print(f"everything is under {out}/ (summary.json, summary.md, samples, models)")


watermark_app = typer.Typer(no_args_is_help=True, help="Keyed watermarks of synthetic tables.")
app.add_typer(watermark_app, name="watermark")


@watermark_app.command("detect")
@friendly_errors
def watermark_detect(
    table: Path = typer.Argument(..., help="CSV/TSV/Parquet table to test"),
    model: Path = typer.Option(..., "--model", help="the run directory whose samples were marked"),
    key: str = typer.Option(..., "--key", help="the watermark key (32 hex characters)"),
) -> None:
    """Test a table for the watermark of KEY: prints the p-value and a verdict (at a 1 % false-positive rate)."""
    from qedm.data import read_table
    from qedm.privacy.watermark import check_key, detect
    from qedm.runs import load_run_model

    check_key(key)
    result = detect(read_table(table), load_run_model(model).transformer, key)
    console.print(f"{table}: {result['rows']} rows, p-value {result['p_value']:.4g} (z {result['z']:.2f}) -> "
                  f"[bold]{result['verdict']}[/] at alpha {result['alpha']}", highlight=False)


@watermark_app.command("keygen")
@friendly_errors
def watermark_keygen() -> None:
    """Print a fresh random watermark key."""
    from qedm.privacy.watermark import new_key

    typer.echo(new_key())


from qedm.serve.commands import register as _register_serve  # noqa: E402 - after friendly_errors

_register_serve(app, friendly_errors, console)


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def main() -> None:  # pragma: no cover - console script entry
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
