"""Jinja2 for the pages: sandboxed and autoescaped, with the GOV.UK Frontend macros."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader, Template
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape
from starlette.templating import Jinja2Templates

from concerns.reports.figures import month_words, shown
from concerns.web import date_input
from concerns.workflows.machine import (
    STATES,
    clock_label,
    event_label,
    label,
    role_label,
    task_for,
)

TEMPLATES = Path(__file__).parent / "templates"
LONDON = ZoneInfo("Europe/London")
STATE_COLOURS = {
    "logged": "blue", "triage": "light-blue", "awaiting_information": "yellow",
    "complaint_offered": "purple", "in_review": "turquoise", "awaiting_signoff": "orange",
    "authorised": "green", "letter_ready": "green", "signed": "green", "responded": "grey",
    "dissatisfied": "red", "meeting_offered": "pink", "closed": "grey",
}
STATUS_COLOURS = {"running": "blue", "paused": "yellow", "met": "green", "overdue": "red",
                  "stopped": "grey"}


class _Template(Template):
    """A page template whose render lets go of its context as soon as the page is made.

    GOV.UK's template.html defines two macros on every render (its header and footer wrappers)
    whose closures hold the render's context while the context holds them: a reference cycle
    that kept the page's whole context (its rows, the request) for the garbage collector's next
    pass, about 400 objects a queue page and a tenth of its CPU time in collections."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        ctx = self.new_context(dict(*args, **kwargs))
        try:
            return self.environment.concat(self.root_render_func(ctx))
        except Exception:
            self.environment.handle_exception()
        finally:
            # Breaks the cycle: the macros, then the context, are freed by their counts.
            ctx.vars.clear()
            ctx.exported_vars.clear()


# Each state's tag as _macros.html's state_tag writes it, made once: a long list (the queues)
# looks it up instead of calling the macro for every row.
STATE_TAGS = {
    state: Markup('<strong class="govuk-tag govuk-tag--{}">{}</strong>\n').format(
        STATE_COLOURS.get(state, "grey"), label(state))
    for state in STATES
}
# What the director does with a case in her queue, by its state: her duty in the lifecycle
# table ("Authorise the outcome or return it"), looked up once per state.
DIRECTOR_ACTIONS = {state: task_for(state, "director") or "Open" for state in STATES}
_OVERDUE_TAG = ' <strong class="govuk-tag govuk-tag--red">Overdue</strong>'


def director_rows(rows: Iterable[Mapping[str, Any]]) -> Markup:
    """The rows of the director's queue table (queue.html), each value escaped here: the
    template's loop cost twice as much (seven escapes and five sandboxed lookups a row)."""
    out = []
    for row in rows:
        ref = escape(row["reference"])
        state = row["state"]
        due = row["due"]
        out.append(
            '    <tr class="govuk-table__row">\n'
            '      <td class="govuk-table__cell">'
            f'<a class="govuk-link" href="/cases/{ref}">{ref}</a>'
            f'{_OVERDUE_TAG if row["overdue"] else ""}</td>\n'
            f'      <td class="govuk-table__cell">{STATE_TAGS.get(state, "")}</td>\n'
            f'      <td class="govuk-table__cell" data-label="Due">'
            f'{escape(_day(due)) if due else "–"}</td>\n'
            '      <td class="govuk-table__cell">\n'
            f'        <a class="govuk-link" href="/queue/director/{ref}">'
            f'{escape(DIRECTOR_ACTIONS.get(state, "Open"))}'
            f'<span class="govuk-visually-hidden"> case {ref}</span></a>\n'
            '      </td>\n'
            '    </tr>\n'
        )
    return Markup("".join(out))


def make_templates() -> Jinja2Templates:
    env = SandboxedEnvironment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(TEMPLATES),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=True,
        # The templates ship with the code: not checked for changes on disk at every render
        # (about twenty stat calls a page).
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.template_class = _Template
    env.filters["when"] = _when
    env.filters["day"] = _day
    env.filters["label"] = _label
    env.filters["shown"] = shown
    env.filters["month"] = month_words
    env.filters["role"] = role_label
    # Names an event and a clock share (acknowledge) need the right table.
    env.filters["event"] = event_label
    env.filters["clock"] = clock_label
    # The GOV.UK tag colour of a case's state and of a clock's status (_macros.html).
    env.filters["state_colour"] = lambda state: STATE_COLOURS.get(state, "grey")
    env.filters["status_colour"] = lambda status: STATUS_COLOURS.get(status, "grey")
    env.globals["state_tags"] = STATE_TAGS
    env.globals["director_rows"] = director_rows
    # Which boxes of a refused GOV.UK date input to mark (web/date_input.py).
    env.globals["date_highlight"] = date_input.highlight
    return Jinja2Templates(env=env)


def compile_every_template(templates: Jinja2Templates) -> None:
    """Compile every page's template (and the GOV.UK ones they use) now, for a server about to
    take requests; Jinja keeps them compiled, so no first visitor to a page waits for it."""
    env = templates.env
    for name in env.list_templates(extensions=("html", "njk")):
        env.get_template(name)


def _when(value: Any) -> str:
    """A UTC time as the council reads it: 2 March 2026, 09:15 (London time)."""
    if not isinstance(value, datetime):
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return str(value)
        else:
            return "" if value is None else str(value)
    local = value.astimezone(LONDON)
    return f"{local.day} {local:%B %Y, %H:%M}"


def _day(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        value = value.astimezone(LONDON).date()
    if isinstance(value, date):
        return f"{value.day} {value:%B %Y}"
    return "" if value is None else str(value)


def _label(value: Any) -> str:
    """Identifiers of the lifecycle table in its words: in_review → Learning review."""
    return label(str(value or ""))
