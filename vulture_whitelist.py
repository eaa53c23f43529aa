"""Names vulture cannot see used: framework hooks and entry points (python -m vulture src vulture_whitelist.py).

Keep this short. A function only tests call is dead code: delete it and test the production
path instead. Each entry says who calls it.
"""

# ruff: noqa
from spendsense.api import app
from spendsense.cli import PlainCommand, _PlainValue
from spendsense.config import reference_markdown
from spendsense.recommend.verify import verify_rationales
from spendsense.spark.convert import convert_synth
from spendsense import text
from spendsense.recommend import rationale
from spendsense.web import display

app.healthz  # a FastAPI route
app.app_from_env  # uvicorn --factory entry point (docs/api.md)
PlainCommand.collect_usage_pieces  # click calls these when it renders --help
PlainCommand.format_options
_PlainValue._coerce_value  # Typer's RuntimeParam.coerce calls it for each value
display.SignalRow.meets  # console/user.html calls it per window
reference_markdown  # scripts/config_reference.py writes docs/configuration.md with it
verify_rationales  # the independent rationale check bench/bench_recommend.py runs
convert_synth  # bench/bench_scale.py and the Spark tests build their ledgers with it
rationale.render_template  # one template rendered in Python (tests/test_text.py: the contract)
text.showable  # the sentence contract's public helpers (docs/decisions.md, text.py)
text.sentence_problems
text.sentence_problems_expr
from spendsense.store import ledger

ledger.apply_batch  # the one-batch form of the ledger write path; the lead's store rework decides its fate
