"""The ``spendsense`` command line: generate, ingest, run, consent, personas, ..."""

from __future__ import annotations

import sys
import traceback
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from spendsense.config import Settings, load_settings
from spendsense.errors import SpendSenseError, UserError

app = typer.Typer(
    help="SpendSense: explainable signals, personas and guarded recommendations.",
    no_args_is_help=True,
)
consent_app = typer.Typer(help="Grant or revoke a user's consent.", no_args_is_help=True)
personas_app = typer.Typer(help="Inspect persona assignments.", no_args_is_help=True)
app.add_typer(consent_app, name="consent")
app.add_typer(personas_app, name="personas")
operator_app = typer.Typer(help="Operator accounts for the console and API.", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)
customer_app = typer.Typer(help="Customer access to their own insights.", no_args_is_help=True)
app.add_typer(operator_app, name="operator")
app.add_typer(audit_app, name="audit")
app.add_typer(customer_app, name="customer")
console = Console()
err = Console(stderr=True)


class State:
    settings: Settings
    verbose: bool = False


STATE = State()


@app.callback()
def _main(
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Data folder (default ./data or $SPENDSENSE_DATA_DIR)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="YAML/JSON configuration file.")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks on errors.")
    ] = False,
) -> None:
    """Global options."""
    STATE.verbose = verbose
    STATE.settings = load_settings(config, data_dir)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


@app.command()
def generate(
    users: Annotated[int, typer.Option("--users", min=1, help="How many users.")] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same bytes.")] = 42,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default DIR/raw).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="plaid-json (one bundle per user) or parquet.")
    ] = "plaid-json",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Last day of history, YYYY-MM-DD.")
    ] = None,
) -> None:
    """Generate a synthetic Plaid-shaped population with ground truth."""
    from spendsense.synth import DEFAULT_AS_OF, generate_population

    if fmt not in ("plaid-json", "parquet"):
        raise UserError(f"--format must be plaid-json or parquet, not {fmt!r}")
    target = out or STATE.settings.data_dir / "raw"
    with _progress() as progress:
        task = progress.add_task("generating users", total=users)
        result = generate_population(
            users,
            seed,
            target,
            fmt=fmt,
            as_of=_parse_date(as_of) if as_of else DEFAULT_AS_OF,
            progress=lambda n: progress.update(task, advance=n),
        )
    console.print(
        f"generated {result.users} users, {result.accounts} accounts, {result.transactions} transactions in {target}"
    )


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Files or folders; the format is detected per file.")
    ],
    user: Annotated[
        str | None, typer.Option("--user", help="User id for raw Plaid responses.")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="Column-mapping YAML for outside exports.")
    ] = None,
) -> None:
    """Validate and load data into the ledger; bad records go to DIR/quarantine/."""
    from spendsense.services import ingest_into_store

    report = ingest_into_store(STATE.settings, paths, user_id=user, mapping=mapping)
    table = Table("table", "loaded", "rejected", title="ingest")
    for name, (loaded, rejected) in report.per_table.items():
        table.add_row(name, str(loaded), str(rejected))
    console.print(table)
    if report.quarantine:
        console.print(f"rejected records and reasons: {report.quarantine}")
    if report.total_loaded == 0:
        raise UserError("nothing was loaded (see the rejects above)")


@app.command()
def run(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: the newest ledger date).")
    ] = None,
    windows: Annotated[
        str | None, typer.Option("--windows", help="Comma-separated window lengths, e.g. 30,180.")
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="embedded (Polars, user chunks) or spark (PySpark).")
    ] = "embedded",
    ledger: Annotated[
        Path | None,
        typer.Option(
            "--ledger",
            help="Canonical-schema Parquet ledger folder (<table>.parquet or <table>/*.parquet); "
            "consent from its users table; outputs to Parquet only.",
        ),
    ] = None,
    no_sqlite: Annotated[
        bool,
        typer.Option(
            "--no-sqlite",
            help="Parquet outputs only (implied by --ledger); ledger from DIR/ledger.",
        ),
    ] = False,
) -> None:
    """Compute signals, personas and recommendations for every consented user."""
    from spendsense.pipeline import run_pipeline, run_pipeline_parquet

    if engine not in ("embedded", "spark"):
        raise UserError(f"--engine must be embedded or spark, not {engine!r}")
    settings = STATE.settings
    if windows:
        try:
            wins = sorted({int(w) for w in windows.split(",") if w.strip()})
        except ValueError as exc:
            raise UserError(
                f"--windows must be comma-separated whole days, not {windows!r}"
            ) from exc
        if not wins or min(wins) <= 0:
            raise UserError("--windows needs at least one positive number of days")
        settings = settings.model_copy(
            update={"signals": settings.signals.model_copy(update={"windows": wins})}
        )
        settings.personas.windows = None
    day = _parse_date(as_of) if as_of else None
    parquet_only = no_sqlite or ledger is not None
    if engine == "spark":
        from spendsense.spark.job import run_with_spark

        summary = run_with_spark(settings, ledger, day, sqlite=not parquet_only, log=console.print)
    elif parquet_only:
        from spendsense.store.ledger import LEDGER_DIR

        source = ledger or settings.data_dir / LEDGER_DIR
        summary = run_pipeline_parquet(settings, source, day, log=console.print)
    else:
        summary = run_pipeline(settings, day, log=console.print)
    print(summary.render())  # plain: tables must not wrap at the terminal width


@app.command()
def report(
    latency_sample: Annotated[
        int,
        typer.Option("--latency-sample", min=0, help="Users timed through the real per-user path."),
    ] = 20,
    pdf: Annotated[
        bool, typer.Option("--pdf/--no-pdf", help="Also print report.html to PDF.")
    ] = True,
) -> None:
    """Evaluate the stored outputs: metrics.json/csv, report.html (+PDF) and per-user traces."""
    from spendsense.eval import build_report

    result = build_report(STATE.settings, latency_sample=latency_sample, pdf=pdf)
    print(result.summary_table())  # plain: a table must not wrap at the terminal width
    console.print(f"report written to {STATE.settings.data_dir / 'report'}")


@consent_app.command("grant")
def consent_grant(
    user_id: str, actor: Annotated[str, typer.Option(help="Who made the change.")] = "cli"
) -> None:
    """Record that USER_ID granted consent."""
    _consent(user_id, "grant", actor)


@consent_app.command("revoke")
def consent_revoke(
    user_id: str, actor: Annotated[str, typer.Option(help="Who made the change.")] = "cli"
) -> None:
    """Record that USER_ID revoked consent; their derived data is removed at once."""
    _consent(user_id, "revoke", actor)


def _consent(user_id: str, action: str, actor: str) -> None:
    from spendsense.store.db import connect
    from spendsense.store.oversight import change_consent

    conn = connect(STATE.settings.db_path)
    # the command line is an operator's tool: the change is audited like one made in the console
    result = change_consent(conn, user_id, action, source="cli", actor=actor, by_operator=True)
    console.print(f"{user_id}: consent {result['status']} at {result['changed_at']}")


@personas_app.command("history")
def personas_history(user_id: str) -> None:
    """Print USER_ID's persona assignments over time, with transitions."""
    from spendsense.store.db import connect
    from spendsense.store.personas import persona_history

    frame = persona_history(connect(STATE.settings.db_path), user_id)
    if frame.height == 0:
        raise UserError(
            f"no persona assignments for {user_id!r} (unknown user, no consent, or not run yet)"
        )
    shown = {
        "window_days": "window",
        "as_of_date": "as of",
        "primary_persona_name": "primary",
        "primary_severity": "severity",
        "secondary_persona_name": "secondary",
        "status": "status",
        "transition": "change",
    }
    table = Table(*shown.values(), title=f"persona history of {user_id}")
    for row in frame.select(list(shown)).iter_rows():
        cells = ["" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v)) for v in row]
        table.add_row(*cells)
    console.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Serve the REST API, the operator console and the end-user page."""
    import uvicorn

    from spendsense.api.app import create_app
    from spendsense.guardrails.delivery import DESCRIPTIONS

    local = host in {"127.0.0.1", "localhost", "::1"}
    application = create_app(STATE.settings, cookie_secure=False if local else None)
    console.print(f"SpendSense on http://{host}:{port}  (console: /console, API docs: /docs)")
    policy = STATE.settings.delivery_policy
    console.print(f"delivery policy {policy}: customers see {DESCRIPTIONS[policy]}")
    uvicorn.run(application, host=host, port=port, log_level="warning")


@operator_app.command("create")
def operator_create(
    username: str,
    password: Annotated[
        str | None,
        typer.Option(help="Password (prompted when omitted; or $SPENDSENSE_OPERATOR_PASSWORD)."),
    ] = None,
    random_password: Annotated[
        bool,
        typer.Option("--random-password", help="Generate a strong password and print it once."),
    ] = False,
    exist_ok: Annotated[
        bool, typer.Option("--exist-ok", help="Do nothing if the operator exists.")
    ] = False,
    token: Annotated[
        bool, typer.Option("--token", help="Also print an API token for this operator.")
    ] = False,
) -> None:
    """Create an operator account (the first one, or another)."""
    import os
    import secrets

    from spendsense.store.auth import create_operator, create_operator_token
    from spendsense.store.db import connect

    conn = connect(STATE.settings.db_path)
    if (
        conn.execute("SELECT 1 FROM operators WHERE username = ?", (username,)).fetchone()
        and exist_ok
    ):
        console.print(f"operator {username!r} already exists")
        return
    secret = password or os.environ.get("SPENDSENSE_OPERATOR_PASSWORD")
    if random_password:
        secret = secrets.token_urlsafe(12)
    if not secret:
        secret = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    create_operator(conn, username, secret)
    console.print(f"operator {username!r} created")
    if random_password:
        console.print(f"password (shown once): {secret}", markup=False)
    if token:
        console.print(
            f"API token (shown once): {create_operator_token(conn, username)}", markup=False
        )


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain: any edited or deleted entry is reported."""
    from spendsense.store.audit import verify_audit_chain
    from spendsense.store.db import connect

    ok, problems = verify_audit_chain(connect(STATE.settings.db_path))
    for problem in problems:
        console.print(problem, markup=False)
    if not ok:
        raise UserError(f"the audit log fails verification ({len(problems)} problem(s))")
    console.print("audit log verified: the hash chain is intact")


@customer_app.command("token")
def customer_token(user_id: str) -> None:
    """Print a token with which USER_ID opens their own page (/me?token=...)."""
    from spendsense.errors import NotFound
    from spendsense.store.auth import create_customer_token
    from spendsense.store.db import connect

    conn = connect(STATE.settings.db_path)
    if conn.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone() is None:
        raise NotFound(f"unknown user {user_id!r}")
    console.print(create_customer_token(conn, user_id))


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UserError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def main(argv: list[str] | None = None) -> Any:
    """Entry point: one line for user errors, a traceback only with --verbose."""
    args = sys.argv[1:] if argv is None else argv
    verbose = "--verbose" in args or "-v" in args
    try:
        return app(args=args, standalone_mode=False)
    except SpendSenseError as exc:
        if verbose:
            traceback.print_exc()
        print(f"error: {exc.message}", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:  # click's own usage errors and anything unexpected
        import click

        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code if exc.exit_code != 0 else 1)
        if verbose:
            traceback.print_exc()
        err.print(
            f"error: {type(exc).__name__}: {exc} (run with --verbose for details)", markup=False
        )
        sys.exit(1)
