"""The `qedm serve` and `qedm keys` commands (registered on the main app by qedm/cli.py)."""

from __future__ import annotations

from pathlib import Path

import typer

keys_app = typer.Typer(no_args_is_help=True, help="Create and list the API keys of `qedm serve`.")


def register(app: typer.Typer, friendly_errors, console) -> None:
    """Add `serve` and `keys` to the qedm command line."""

    @app.command()
    @friendly_errors
    def serve(
        run_dirs: list[str] = typer.Argument(..., help="run or model directories, optionally NAME=DIR"),
        host: str = typer.Option("127.0.0.1", help="address to bind (loopback unless told otherwise)"),
        port: int = typer.Option(8000, help="TCP port"),
        keys: Path = typer.Option(Path("keys.toml"), "--keys", help="API keys file (see `qedm keys add`)"),
        quota_db: Path = typer.Option(None, "--quota-db", help="SQLite file of quota counters "
                                                                "(default: beside the keys file)"),
        workers: int = typer.Option(2, help="sampling worker threads (one model replica each)"),
        max_rows: int = typer.Option(10_000, help="largest n of one request"),
        grace: int = typer.Option(60, help="seconds to let requests in flight finish on SIGTERM"),
    ) -> None:
        """Serve trained models over HTTP with API keys, quotas and Prometheus metrics."""
        from qedm.serve.server import ServeOptions
        from qedm.serve.server import serve as run_server

        run_server(run_dirs, ServeOptions(host=host, port=port, keys=keys, quota_db=quota_db, workers=workers,
                                          max_rows=max_rows, grace_seconds=grace))

    @keys_app.command("add")
    @friendly_errors
    def add(
        name: str = typer.Argument(..., help="a name for the key (letters, digits, _ and -)"),
        models: str = typer.Option(..., help="comma-separated model names it may read, or '*'"),
        rows_per_day: int = typer.Option(..., help="rows it may draw per UTC day"),
        rpm: int = typer.Option(..., "--rpm", help="requests it may make per minute"),
        keys: Path = typer.Option(Path("keys.toml"), "--keys", help="keys file (created if absent)"),
    ) -> None:
        """Create a key, store only its hash, and print the key once."""
        from qedm.serve.keys import add_key

        key = add_key(keys, name, [m.strip() for m in models.split(",") if m.strip()], rows_per_day, rpm)
        console.print(f"key {name!r} added to {keys}; it is shown only now:", highlight=False)
        typer.echo(key)

    @keys_app.command("list")
    @friendly_errors
    def list_keys(keys: Path = typer.Option(Path("keys.toml"), "--keys", help="keys file")) -> None:
        """Names, models and quotas of the keys (never the keys)."""
        from qedm.serve.keys import read_keys

        for spec in read_keys(keys):
            console.print(f"{spec.name}: models {','.join(spec.models)}; {spec.rows_per_day} rows/day, "
                          f"{spec.requests_per_minute} requests/min", highlight=False)

    @keys_app.command("remove")
    @friendly_errors
    def remove(name: str = typer.Argument(...),
               keys: Path = typer.Option(Path("keys.toml"), "--keys", help="keys file")) -> None:
        """Delete a key: requests with it get 401 after the server restarts."""
        from qedm.serve.keys import remove_key

        remove_key(keys, name)
        console.print(f"removed key {name!r} from {keys}", highlight=False)

    app.add_typer(keys_app, name="keys")
