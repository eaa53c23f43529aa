"""The ``spendsense`` command line: generate, ingest, run, consent, personas, ...

Start-up is kept short on purpose: this module imports only Typer at the top, and every
command imports what it needs (Polars, the pipeline, FastAPI, Rich) inside its body, so that
``--help``, ``consent``, ``operator`` and ``customer`` never load them; nor Pydantic (see
``_PlainValue``). See docs/decisions.md, "CLI start-up: heavy imports where they are used";
tests/cli/test_usability.py guards it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._coercion import RuntimeParam
from typer._param_types import coerce_cli_path
from typer.core import TyperCommand, TyperGroup

from spendsense.errors import SpendSenseError, UserError

if TYPE_CHECKING:
    from datetime import date

    from rich.progress import Progress

    from spendsense.config import Settings


_NUMBER_WORDS = {int: ("a valid integer", "an integer"), float: ("a valid number", "a number")}
_BOOL_WORDS = {
    **dict.fromkeys(("1", "on", "t", "true", "y", "yes"), True),
    **dict.fromkeys(("", "0", "off", "f", "false", "n", "no"), False),
}


@dataclass(frozen=True)
class _PlainValue(RuntimeParam):
    """A str, bool, int, float or Path value converted without Typer's Pydantic adapters.

    Typer builds a Pydantic ``TypeAdapter`` for every value it converts, and importing Pydantic
    alone costs about a quarter of a second: every command would pay it before doing anything.
    These five kinds need no Pydantic; the messages are the ones Typer's adapters give.
    Anything else (choices, lists, dates, custom parsers) keeps Typer's conversion.
    """

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        kind, info = self.annotation, self.parameter_info
        if kind is Path:
            return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
        if kind is bool and not isinstance(value, bool):
            if (flag := _BOOL_WORDS.get(str(value).strip().lower())) is None:
                raise typer.BadParameter(
                    "Input should be a valid boolean, unable to interpret input",
                    ctx=ctx, param=param,
                ) from None  # fmt: skip
            return flag
        if kind is str or isinstance(value, kind):
            number = value
        else:
            try:
                number = kind(str(value).strip())
            except ValueError:
                valid, noun = _NUMBER_WORDS[kind]
                raise typer.BadParameter(
                    f"Input should be {valid}, unable to parse string as {noun}",
                    ctx=ctx, param=param,
                ) from None  # fmt: skip
        if info.min is not None and number < info.min:
            raise typer.BadParameter(
                f"Input should be greater than or equal to {info.min}", ctx=ctx, param=param
            )
        if info.max is not None and number > info.max:
            raise typer.BadParameter(
                f"Input should be less than or equal to {info.max}", ctx=ctx, param=param
            )
        return number


def _plain_values(params: list[Any]) -> list[Any]:
    """Give each plain str/bool/int/float/Path parameter the Pydantic-free conversion above."""
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", True) is not None:
            continue
        info = descriptor.parameter_info
        plain = descriptor.annotation in (str, bool, Path) or (
            descriptor.annotation in _NUMBER_WORDS and not info.clamp
        )
        if plain and info.parser is None and not descriptor.is_choice:
            param._runtime_param = _PlainValue(info, descriptor.annotation)
    return params


class PlainCommand(TyperCommand):
    """Classic help: arguments by their metavar (``PATH...``), none of Typer's ``<type>`` tags;
    values converted without Pydantic (``_PlainValue``)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_values(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = _argument_name(param)
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                arguments.append((_argument_name(param), getattr(param, "help", None) or ""))
            elif (record := param.get_help_record(ctx)) is not None:
                options.append(record)
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


class PlainGroup(TyperGroup):
    """A command group whose commands default to ``PlainCommand`` (its own options converted
    as theirs are)."""

    command_class = PlainCommand

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_values(super().get_params(ctx))


def _argument_name(param: Any) -> str:
    name = param.metavar or param.name.upper()
    return name if param.nargs == 1 or name.endswith("...") else f"{name}..."


class _Typer(typer.Typer):
    """A Typer whose commands are ``PlainCommand`` unless told otherwise."""

    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", PlainCommand)
        return super().command(*args, **kwargs)


def _typer(help_text: str) -> typer.Typer:
    return _Typer(
        help=help_text,
        no_args_is_help=True,
        rich_markup_mode=None,
        add_completion=False,
        cls=PlainGroup,
    )


app = _typer("SpendSense: explainable signals, personas and guarded recommendations.")
consent_app = _typer("Grant or revoke a user's consent.")
personas_app = _typer("Inspect persona assignments.")
operator_app = _typer("Operator accounts for the console and API.")
audit_app = _typer("The append-only, hash-chained audit log.")
customer_app = _typer("Customer access to their own insights.")
runs_app = _typer("Pipeline runs: list them, delete one made by mistake.")
token_app = _typer("API tokens and personal links: revoke one that leaked.")
app.add_typer(consent_app, name="consent")
app.add_typer(personas_app, name="personas")
app.add_typer(operator_app, name="operator")
app.add_typer(audit_app, name="audit")
app.add_typer(customer_app, name="customer")
app.add_typer(runs_app, name="runs")
app.add_typer(token_app, name="token")


class _Out:
    """Plain printing with the ``print(text, markup=...)`` call of Rich's Console (without Rich)."""

    def __init__(self, stream: str) -> None:
        self.stream = stream

    def print(self, *parts: object, markup: bool = False, **_: object) -> None:
        print(*parts, file=getattr(sys, self.stream))

    @property
    def is_terminal(self) -> bool:
        return bool(getattr(sys, self.stream).isatty())


console = _Out("stdout")
err = _Out("stderr")


class State:
    """Global options; the settings are built on first use (``--help`` never needs them)."""

    data_dir: Path | None = None
    config: Path | None = None
    verbose: bool = False
    started: float = 0.0  # perf_counter when main() began
    startup_cpu: float = 0.0  # seconds before main() (interpreter and imports)
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from spendsense.config import load_settings

            self._settings = load_settings(self.config, self.data_dir)
        return self._settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        self._settings = value

    @property
    def folder(self) -> Path:
        """The data folder, without building the settings unless a configuration file is given."""
        if self._settings is None and self.config is None:
            from spendsense.paths import resolve_data_dir

            return resolve_data_dir(self.data_dir)
        return self.settings.data_dir

    @property
    def db_path(self) -> Path:
        from spendsense.paths import db_path

        return db_path(self.folder)


STATE = State()


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"spendsense {version('spendsense')}")
        raise typer.Exit()


@app.callback()
def _main(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            metavar="DIR",
            help="Data folder (default ./data or $SPENDSENSE_DATA_DIR).",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", metavar="FILE", help="YAML/JSON configuration file."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks on errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Global options."""
    STATE.verbose = verbose
    STATE.data_dir, STATE.config = data_dir, config
    STATE._settings = None


def _progress() -> Progress:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    stderr = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    )


class _Steps:
    """Progress of a long command on a terminal: the step, a bar, files done of all, time."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("starting", total=None)
        self.step = ""

    def __call__(self, step: str, done: int, total: int) -> None:
        if step != self.step:
            self.step = step
            label = f"{step} files" if total else step
            self.progress.update(self.task, description=label, total=total or None, completed=0)
        self.progress.update(self.task, completed=done)


@app.command()
def generate(
    users: Annotated[
        int, typer.Option("--users", min=1, metavar="N", help="How many users.")
    ] = 100,
    seed: Annotated[
        int, typer.Option("--seed", metavar="S", help="Random seed: same seed, same bytes.")
    ] = 42,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="DIR", help="Output folder (default DIR/raw).")
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", metavar="FORMAT", help="plaid-json (one bundle per user) or parquet."
        ),
    ] = "plaid-json",
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="YYYY-MM-DD", help="Last day of history."),
    ] = None,
    variant: Annotated[
        list[str] | None,
        typer.Option(
            "--variant",
            metavar="NAME",
            help="Reshape as an outside export (repeatable): reverse-sign, cents, "
            "savings-without-history, flat-categories, no-merchant-name.",
        ),
    ] = None,
) -> None:
    """Generate a synthetic Plaid-shaped population with ground truth."""
    from spendsense.synth import DEFAULT_AS_OF, generate_population
    from spendsense.synth.variants import check

    if fmt not in ("plaid-json", "parquet"):
        raise UserError(f"--format must be plaid-json or parquet, not {fmt!r}")
    try:
        variants = check(v.strip() for item in variant or [] for v in item.split(","))
    except ValueError as exc:
        raise UserError(f"--variant: {exc}") from exc
    target = out or STATE.settings.data_dir / "raw"
    with _progress() as progress:
        task = progress.add_task("generating users", total=users)
        result = generate_population(
            users,
            seed,
            target,
            fmt=fmt,
            as_of=_parse_date(as_of, "--as-of") if as_of else DEFAULT_AS_OF,
            progress=lambda n: progress.update(task, advance=n),
            variants=variants,
        )
    console.print(
        f"generated {result.users} users, {result.accounts} accounts, {result.transactions} transactions in {target}"
    )
    if result.mapping_path is not None:
        console.print(f"load it with: spendsense ingest --mapping {result.mapping_path} {target}")


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH...", help="Files or folders; the format is detected per file."
        ),
    ],
    user: Annotated[
        str | None,
        typer.Option("--user", metavar="USER_ID", help="User id for raw Plaid responses."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", metavar="FILE", help="Column-mapping YAML for outside exports."),
    ] = None,
) -> None:
    """Validate and load data into the ledger; bad records go to DIR/quarantine/."""
    from rich.table import Table

    from spendsense.services import ingest_into_store

    with _progress() as progress:
        report = ingest_into_store(
            STATE.settings, paths, user_id=user, mapping=mapping, progress=_Steps(progress)
        )
    table = Table("table", "loaded", "rejected", title="ingest")
    for name, (loaded, rejected) in report.per_table.items():
        table.add_row(name, str(loaded), str(rejected))
    _print_rich(table)
    if report.reasons:
        console.print(f"rejected records by reason ({report.total_rejected} in all):")
        for group in report.reasons:
            console.print(f"  {group.count} x {group.table}: {group.reason}")
            for example in group.examples:
                console.print(f"      e.g. {example}")
    if report.quarantine:
        console.print(f"every rejected record, with its reason: {report.quarantine}")
    out = report.outcome
    if out.new_users or out.updated_users or out.unchanged_users:
        console.print(
            f"users: {len(out.new_users)} new, {len(out.updated_users)} updated, "
            f"{len(out.unchanged_users)} unchanged"
            + (
                f", {len(out.bundle_revocations)} revoked by the input"
                if out.bundle_revocations
                else ""
            )
        )
    for warning in report.warnings:
        console.print(f"warning: {warning}")
    if report.total_loaded == 0:
        if report.total_rejected:
            raise UserError("nothing was loaded: every record was rejected (reasons above)")
        raise UserError("nothing was loaded: the inputs hold no records")


@app.command()
def run(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="The run's date (default: the newest ledger date; later ones need --force).",
        ),
    ] = None,
    windows: Annotated[
        str | None,
        typer.Option(
            "--windows", metavar="DAYS", help="Comma-separated window lengths, e.g. 30,180."
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine", metavar="ENGINE", help="embedded (Polars, user chunks) or spark (PySpark)."
        ),
    ] = "embedded",
    ledger: Annotated[
        Path | None,
        typer.Option(
            "--ledger",
            metavar="DIR",
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
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Allow an --as-of after the newest ledger date (empty windows)."
        ),
    ] = False,
) -> None:
    """Compute signals, personas and recommendations for every consented user."""
    from spendsense.allocator import keep_freed_memory

    keep_freed_memory()  # before Polars loads (the pipeline import below)
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
    day = _parse_date(as_of, "--as-of") if as_of else None
    parquet_only = no_sqlite or ledger is not None
    from spendsense.pipeline import run_pipeline, run_pipeline_parquet

    begun = time.perf_counter()
    if engine == "spark":
        from spendsense.spark.job import run_with_spark

        summary = run_with_spark(
            settings, ledger, day, sqlite=not parquet_only, log=console.print, force=force
        )
    elif parquet_only:
        from spendsense.store.ledger import LEDGER_DIR

        source = ledger or settings.data_dir / LEDGER_DIR
        summary = run_pipeline_parquet(settings, source, day, log=console.print, force=force)
    else:
        summary = run_pipeline(settings, day, log=console.print, force=force)
    summary.timings = _account_for_wall_time(summary.timings, begun)
    print(summary.render())  # plain: tables must not wrap at the terminal width


def _account_for_wall_time(steps: dict[str, float], begun: float) -> dict[str, float]:
    """The run's steps with what came before and between them, adding up to the wall time.

    Start-up is the process's life before ``main`` (interpreter, imports) plus everything
    from ``main`` until the pipeline began (settings, the Polars import).
    """
    startup = STATE.startup_cpu + (begun - STATE.started)
    within = time.perf_counter() - begun
    timings = {"start-up (Python, imports, settings)": startup, **steps}
    rest = within - sum(steps.values())
    if rest > 0.005:
        timings["other (between steps)"] = rest
    return timings


@app.command()
def report(
    latency_sample: Annotated[
        int,
        typer.Option(
            "--latency-sample",
            min=0,
            metavar="N",
            help="Users timed through the real per-user path.",
        ),
    ] = 20,
    pdf: Annotated[
        bool, typer.Option("--pdf/--no-pdf", help="Also print report.html to PDF.")
    ] = True,
) -> None:
    """Evaluate the stored outputs: metrics.json/csv, report.html (+PDF), per-user traces.

    Exits with status 1 when any target fails (or none could be tested), so CI can gate on it.
    """
    from spendsense.eval import build_report

    result = build_report(STATE.settings, latency_sample=latency_sample, pdf=pdf)
    print(result.summary_table())  # plain: a table must not wrap at the terminal width
    console.print(f"report written to {STATE.settings.data_dir / 'report'}")
    missed = [m for m in result.failed if m.value is not None]
    untested = [m for m in result.failed if m.value is None]
    if untested:
        err.print(
            f"warning: {len(untested)} targets not tested (too little data): {_names(untested)}"
        )
    if missed:  # CI gates on this
        raise UserError(f"{len(missed)} of {len(result.targets)} targets failed: {_names(missed)}")
    if len(untested) == len(result.targets):
        raise UserError("no target could be tested: run `spendsense run` first")


def _names(metrics: list[Any]) -> str:
    names = ", ".join(m.group + "." + m.name for m in metrics[:5])
    return names + (f" and {len(metrics) - 5} more (see the table)" if len(metrics) > 5 else "")


@consent_app.command("grant")
def consent_grant(
    user_id: Annotated[str, typer.Argument(metavar="USER_ID")],
    actor: Annotated[str, typer.Option(metavar="NAME", help="Who made the change.")] = "cli",
) -> None:
    """Record that USER_ID granted consent."""
    _consent(user_id, "grant", actor)


@consent_app.command("revoke")
def consent_revoke(
    user_id: Annotated[str, typer.Argument(metavar="USER_ID")],
    actor: Annotated[str, typer.Option(metavar="NAME", help="Who made the change.")] = "cli",
) -> None:
    """Record that USER_ID revoked consent; their derived data is removed at once."""
    _consent(user_id, "revoke", actor)


def _consent(user_id: str, action: str, actor: str) -> None:
    from spendsense.services import change_consent

    result = change_consent(
        lambda: STATE.settings, user_id, action, source="cli", actor=actor, db_path=STATE.db_path
    )
    done = " (recomputed)" if result["recomputed"] else ""
    console.print(f"{user_id}: consent {result['status']} at {result['changed_at']}{done}")


@personas_app.command("history")
def personas_history(user_id: Annotated[str, typer.Argument(metavar="USER_ID")]) -> None:
    """Print USER_ID's persona assignments over time, with transitions."""
    from rich.table import Table

    from spendsense.store.db import connect
    from spendsense.store.personas import persona_history

    frame = persona_history(connect(STATE.db_path), user_id)
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
    _print_rich(table)


@runs_app.command("list")
def runs_list() -> None:
    """Every as-of date with stored outputs, newest first."""
    from spendsense.store.db import connect
    from spendsense.store.runs import list_runs

    rows = list_runs(connect(STATE.db_path))
    if not rows:
        console.print("no runs yet: `spendsense run` computes the outputs")
        return
    console.print(f"{'as of':<12} {'runs':>5} {'users':>7} {'personas':>9} {'recs':>7}  last run")
    for r in rows:
        users = "" if r.users is None else str(r.users)
        console.print(
            f"{r.as_of_date:<12} {r.runs:>5} {users:>7} {r.assignments:>9} "
            f"{r.recommendations:>7}  {r.last_finished_at or ''}"
        )


@runs_app.command("delete")
def runs_delete(
    as_of: Annotated[str, typer.Argument(metavar="YYYY-MM-DD", help="The run's as-of date.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    actor: Annotated[
        str, typer.Option(metavar="NAME", help="Who deletes it (for the audit log).")
    ] = "cli",
) -> None:
    """Delete every output of the run at an as-of date (signals, personas, recommendations).

    Delivered recommendations stay (a customer has seen them); the deletion is audited.
    """
    from spendsense.store.db import connect
    from spendsense.store.outputs import FEATURES_DIR
    from spendsense.store.runs import delete_run

    day = _parse_date(as_of, "YYYY-MM-DD")
    if not yes and not typer.confirm(f"delete every output of the run as of {day}?"):
        raise typer.Exit(1)
    settings = STATE.settings
    done = delete_run(connect(settings.db_path), settings.data_dir / FEATURES_DIR, day, actor=actor)
    parts = ", ".join(f"{n} {table}" for table, n in done.rows.items()) or "no SQLite rows"
    console.print(f"deleted the run as of {day}: {parts}; {done.parquet_rows} Parquet rows")
    if done.kept_delivered:
        console.print(f"kept {done.kept_delivered} delivered recommendations (customers saw them)")


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(metavar="HOST", help="Interface to listen on.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="TCP port.")] = 8000,
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
    username: Annotated[str, typer.Argument(metavar="USERNAME")],
    password: Annotated[
        str | None,
        typer.Option(
            metavar="PASSWORD",
            help="Password (prompted when omitted; or $SPENDSENSE_OPERATOR_PASSWORD).",
        ),
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

    from spendsense.store.auth import create_operator, create_operator_token, operator_exists
    from spendsense.store.db import connect

    conn = connect(STATE.db_path)
    if exist_ok and operator_exists(conn, username):
        console.print(_operator_exists(username))
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


def _operator_exists(username: str) -> str:
    """What to tell an operator whose account is already there (``make demo`` run again)."""
    data = STATE.folder
    reset = _password_command()
    how = (
        f"spendsense --data-dir {data} operator {reset} {username}"
        if reset
        else f"spendsense --data-dir {data} operator create OTHER_NAME --random-password"
        " (a second operator)"
    )
    return (
        f"operator {username!r} already exists: its password was printed once, when it was"
        f" created. Lost it? {how}; or start the demo afresh: rm -rf {data} && make demo"
    )


def _password_command() -> str | None:
    """The ``operator`` command that sets a new password, if there is one (by its name)."""
    command = typer.main.get_command(app)
    group = getattr(command, "commands", {}).get("operator")
    names = sorted(getattr(group, "commands", {}))
    return next((n for n in names if "password" in n or "reset" in n), None)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain: any edited or deleted entry is reported."""
    from spendsense.store.audit import verify_audit_chain
    from spendsense.store.db import connect

    ok, problems = verify_audit_chain(connect(STATE.db_path))
    for problem in problems:
        console.print(problem, markup=False)
    if not ok:
        raise UserError(f"the audit log fails verification ({len(problems)} problem(s))")
    console.print("audit log verified: the hash chain is intact")


@customer_app.command("token")
def customer_token(
    user_id: Annotated[str, typer.Argument(metavar="USER_ID")],
    days: Annotated[
        int, typer.Option(min=1, max=365, metavar="DAYS", help="Days until the link expires.")
    ] = 30,
) -> None:
    """Print a token with which USER_ID opens their own page (/me?token=...); audited."""
    from datetime import timedelta

    from spendsense.store.auth import create_customer_token
    from spendsense.store.db import connect

    conn = connect(STATE.db_path)
    console.print(create_customer_token(conn, user_id, actor="cli", ttl=timedelta(days=days)))


@customer_app.command("revoke")
def customer_revoke(user_id: Annotated[str, typer.Argument(metavar="USER_ID")]) -> None:
    """Revoke every link and session of USER_ID at once (they need a new link); audited."""
    from spendsense.store.auth import revoke_customer_tokens
    from spendsense.store.db import connect

    count = revoke_customer_tokens(connect(STATE.db_path), user_id, actor="cli")
    console.print(f"revoked {count} token(s) of {user_id}; their open sessions ended too")


@token_app.command("revoke")
def token_revoke(
    token: Annotated[
        str | None,
        typer.Argument(metavar="TOKEN", help="The token (prompted, hidden, when omitted)."),
    ] = None,
) -> None:
    """Revoke one operator or customer token (and the sessions opened with it); audited."""
    from spendsense.store.auth import revoke_token
    from spendsense.store.db import connect

    secret = token or typer.prompt("token", hide_input=True)
    revoked = revoke_token(connect(STATE.db_path), secret, actor="cli")
    console.print(f"token {revoked} revoked")


@operator_app.command("disable")
def operator_disable(username: Annotated[str, typer.Argument(metavar="USERNAME")]) -> None:
    """Disable an operator: their sessions end and their API tokens are revoked; audited."""
    from spendsense.store.auth import set_operator_disabled
    from spendsense.store.db import connect

    set_operator_disabled(connect(STATE.db_path), username, True, actor="cli")
    console.print(f"operator {username!r} disabled; sessions ended and tokens revoked")


@operator_app.command("enable")
def operator_enable(username: Annotated[str, typer.Argument(metavar="USERNAME")]) -> None:
    """Re-enable a disabled operator (they sign in again; old tokens stay revoked); audited."""
    from spendsense.store.auth import set_operator_disabled
    from spendsense.store.db import connect

    set_operator_disabled(connect(STATE.db_path), username, False, actor="cli")
    console.print(f"operator {username!r} enabled")


@operator_app.command("reset-password")
def operator_reset_password(
    username: Annotated[str, typer.Argument(metavar="USERNAME")],
    password: Annotated[
        str | None,
        typer.Option(
            metavar="PASSWORD",
            help="New password (prompted when omitted; or $SPENDSENSE_OPERATOR_PASSWORD).",
        ),
    ] = None,
    random_password: Annotated[
        bool,
        typer.Option("--random-password", help="Generate a strong password and print it once."),
    ] = False,
) -> None:
    """Set a new password for an operator and end their sessions; audited (never the password)."""
    import os
    import secrets

    from spendsense.store.auth import reset_password
    from spendsense.store.db import connect

    secret = password or os.environ.get("SPENDSENSE_OPERATOR_PASSWORD")
    if random_password:
        secret = secrets.token_urlsafe(12)
    if not secret:
        secret = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    reset_password(connect(STATE.db_path), username, secret, actor="cli")
    console.print(f"password of {username!r} reset; their sessions ended")
    if random_password:
        console.print(f"password (shown once): {secret}", markup=False)


def _print_rich(renderable: object) -> None:
    from rich.console import Console

    Console().print(renderable)


def _parse_date(text: str, option: str) -> date:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise UserError(f"{option}: not a date (YYYY-MM-DD): {text!r}") from exc


def main(argv: list[str] | None = None) -> Any:
    """Entry point: one line for user errors (with a hint for usage errors), a traceback only with --verbose."""
    STATE.started = time.perf_counter()
    if argv is None:  # the console script: the process's age is its start-up so far
        STATE.startup_cpu = _process_age()
    args = sys.argv[1:] if argv is None else argv
    verbose = "--verbose" in args or "-v" in args
    try:
        code = app(args=args, standalone_mode=False, prog_name="spendsense")
    except SpendSenseError as exc:
        if verbose:
            import traceback

            traceback.print_exc()
        print(f"error: {exc.message}", file=sys.stderr)
        sys.exit(1)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        if _is_usage_error(exc):
            _show_usage_error(exc)
            sys.exit(2)
        if verbose:
            import traceback

            traceback.print_exc()
        print(f"error: {exc} (run with --verbose for details)", file=sys.stderr)
        sys.exit(1)
    if isinstance(code, int) and code:
        sys.exit(code)
    return code


def _process_age() -> float:
    """Seconds since this process started (Linux /proc), else the CPU it has used so far."""
    import os

    try:
        after_name = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(after_name[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        times = os.times()
        return times.user + times.system


def _is_usage_error(exc: Exception) -> bool:
    """Typer's (vendored click's) usage errors, without importing its private module."""
    from typer.exceptions import TyperException

    return isinstance(exc, TyperException) and hasattr(exc, "format_message")


def _show_usage_error(exc: Exception) -> None:
    """``error: No such option: --as-f Did you mean --as-of?`` and where to find help."""
    message = exc.format_message()  # type: ignore[attr-defined]
    close = getattr(exc, "possibilities", None)
    if close and getattr(exc, "option_name", None):
        listed = " or ".join(sorted(close))
        message = f"No such option: {exc.option_name}. Did you mean {listed}?"  # type: ignore[attr-defined]
    print(f"error: {message}", file=sys.stderr)
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        print(f"Try '{ctx.command_path} --help' for help.", file=sys.stderr)
