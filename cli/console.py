"""How the `cme` command talks to people: notes and errors on stderr, stdout kept for data.

An error is one line saying what is wrong and what to do, and a non-zero exit status:
1 the service refused (or a run it did failed), 2 a mistake on this side (a file, a key, an
option, the database), 3 the service could not be reached.
"""

from __future__ import annotations

from collections.abc import Mapping

import typer
from rich.console import Console
from rich.table import Table

EXIT_REFUSED = 1
EXIT_MISTAKE = 2
EXIT_UNREACHABLE = 3

# Tables and progress displays; never wraps a line it is given.
stderr = Console(stderr=True, soft_wrap=True)


def show_counts(
    what: str, counts: Mapping[str, object], *, heading: str = "", codes: bool = False
) -> None:
    """Counts for people (stderr): a line saying what they are, then a two-column table;
    a nested mapping becomes one row per part. Names are read as words unless `codes`
    (provision or authority codes stay as the API spells them)."""
    if heading:
        stderr.print(heading)
    table = Table(what, "count")
    for name, value in counts.items():
        label = name if codes else name.replace("_", " ")
        if isinstance(value, Mapping):
            for part, count in value.items():
                table.add_row(f"{label}: {part}", str(count))
        else:
            table.add_row(label, str(value))
    stderr.print(table)


def note(message: str) -> None:
    """A line for the person at the terminal (stderr, so stdout stays parseable)."""
    typer.echo(message, err=True)


def fail(message: str, *, exit_code: int = EXIT_MISTAKE) -> typer.Exit:
    """Print one error line; raise what this returns."""
    typer.secho("error: ", fg="red", err=True, nl=False)
    typer.echo(message, err=True)
    return typer.Exit(code=exit_code)
