"""Matching a new contact against the register: 1,000 stored people against 100,000.

Each contact is matched as intake does it: the indexed blocking keys bring back the few people
who share one (email, phone, postcode, normalised name, Soundex block), then each is scored. The
record is the median time per contact with 100,000 people stored, against the same with 1,000
(ratio: aim below 2, i.e. the time does not grow with the register). A third of the contacts are
repeat writers typed differently, the rest new people. Each contact is matched against both
registers in turn, so a busy machine slows both alike. SQLite files, as shipped.

Environment: CONCERNS_BENCH_MATCH_CONTACTS (default 300), CONCERNS_BENCH_MATCH_LARGE (100000).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import record  # noqa: E402
from concerns.db.engine import make_engine  # noqa: E402
from concerns.db.models import Respondent  # noqa: E402
from concerns.triage.matching import best_match, person_keys  # noqa: E402
from concerns.triage.submission import RespondentDetails  # noqa: E402
from concerns.workflows.context import AppContext  # noqa: E402
from concerns.workflows.people import candidates  # noqa: E402
from concerns.workflows.settings import load_settings  # noqa: E402

CONTACTS = int(os.environ.get("CONCERNS_BENCH_MATCH_CONTACTS", "300"))
LARGE = int(os.environ.get("CONCERNS_BENCH_MATCH_LARGE", "100000"))
SMALL = 1000

_FIRST = ("James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Susan "
         "Richard Jessica Joseph Sarah Thomas Karen Charles Lisa Christopher Nancy Daniel Betty "
         "Matthew Sandra Anthony Margaret Mark Ashley Donald Kimberly Steven Emily Paul Donna "
         "Andrew Michelle Joshua Carol Kenneth Amanda Kevin Melissa Brian Deborah George "
         "Stephanie Timothy Rebecca Aisha Mohammed Zoe Liam Olivia Noah Amelia Oliver Isla "
         "Harry Ava Jack Mia Charlie Ivy Leo Freya Oscar Lily Arthur Grace Muhammad Sophia")
_SURNAMES = ("Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson "
            "Evans Walker White Roberts Green Hall Wood Jackson Clarke Patel Khan Lewis James "
            "Phillips Mason Mitchell Rose Davis Rodriguez Cox Alexander Morgan Hughes Edwards "
            "Hill Moore Clark Harris Scott Young Turner King Cooper Martin Baker Ward Morris "
            "Price Bennett Gray Cook Bell Murphy Bailey Parker Kelly Begum Ali Hussain Shah "
            "O'Connor Smith-Jones Dubois Okafor Nowak Kowalski Singh Kaur Ahmed Reid Fraser "
            "Griffiths Lloyd Powell Jenkins Owen Watkins Bowen Pritchard Vaughan Rees Howell")
FIRST = _FIRST.split()
SURNAMES = _SURNAMES.split()


_SYLLABLES = ("ab al an ar ash bar bel ber bor bre bur car che cla col cor cra dal dan del "
             "der don dra dun el en er fen fer for gal gar gil gor gra ham har hen her hol "
             "how ing kel ken kin lan lar lea ley lin lo lud mac man mar mer mil mor nor "
             "oak ock om pen per pol pra ram red ren ric rid rob ros row sal san sel sha "
             "shaw ster sto tal tan ter tho ton tre tur val ven wal war wel wick win wor")
SYLLABLES = _SYLLABLES.split()


def surname(rng: random.Random) -> str:
    """Half from the commonest surnames, half from a long tail, roughly as in England (the
    hundred commonest surnames cover about a fifth of people)."""
    if rng.random() < 0.5:
        return rng.choice(SURNAMES)
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def person(rng: random.Random, i: int) -> RespondentDetails:
    name = f"{rng.choice(FIRST)} {surname(rng)}"
    postcode = f"{rng.choice(['HR', 'WR', 'GL', 'SY', 'LD', 'NP'])}{rng.randint(1, 9)} " \
               f"{rng.randint(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}"
    return RespondentDetails(
        name=name,
        email=f"{name.split()[0].lower()}.{i}@example.com",
        phone=f"07700 {i // 1000 % 1000:03d}{i % 1000:03d}"[:12] if i % 3 else None,
        postcode=postcode if i % 2 else None,
    )


def typed_differently(details: RespondentDetails) -> RespondentDetails:
    first, _, rest = details.name.partition(" ")
    return RespondentDetails(name=f"{first[0]}. {rest.upper()}",
                             email=(details.email or "").upper() or None,
                             phone=details.phone)


def build(ctx: AppContext, people: list[RespondentDetails]) -> None:
    rows = []
    for p in people:
        k = person_keys(p)
        rows.append({"name": p.name, "email": p.email, "phone": p.phone, "postcode": p.postcode,
                     "name_key": k.name_key, "name_block": k.name_block,
                     "email_key": k.email_key, "phone_key": k.phone_key,
                     "postcode_key": k.postcode_key})
    with ctx.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(Respondent), rows[start:start + 5000])
        conn.exec_driver_sql("ANALYZE")


def match_once(s: Session, details: RespondentDetails) -> tuple[float, bool]:
    started = time.perf_counter()
    keys = person_keys(details)
    chosen, _ = best_match(keys, candidates(s, keys))
    elapsed = time.perf_counter() - started
    s.expunge_all()
    return elapsed, chosen is not None


def register(size: int, tmp: Path) -> tuple[AppContext, list[RespondentDetails]]:
    rng = random.Random(4)
    people = [person(rng, i) for i in range(size)]
    url = f"sqlite:///{tmp / f'match-{size}.db'}"
    settings = replace(load_settings(REPO / "config.toml"), database_url=url, base_dir=tmp)
    ctx = AppContext(settings, make_engine(url))
    ctx.migrate()
    build(ctx, people)
    return ctx, people


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        small_ctx, people = register(SMALL, Path(tmp))
        large_ctx, _ = register(LARGE, Path(tmp))  # the same first 1,000 people, and more
        # The same contacts at both sizes: repeats of the first 1,000 people and new people.
        crng = random.Random(7)
        contacts = [
            typed_differently(people[crng.randrange(SMALL)]) if i % 3 == 0
            else person(crng, 10_000_000 + i)
            for i in range(CONTACTS)
        ]
        warm_up = [person(crng, 20_000_000 + i) for i in range(100)]
        timings: dict[int, list[float]] = {SMALL: [], LARGE: []}
        found = {SMALL: 0, LARGE: 0}
        with small_ctx.uow() as small, large_ctx.uow() as large:
            sessions = {SMALL: small.session, LARGE: large.session}
            # Warm up on other contacts (a running register has seen some): imports, the
            # statement cache, the first pages of each index.
            for details in warm_up:
                for s in sessions.values():
                    match_once(s, details)
            # Each contact against both registers in turn, so a busy machine slows both alike.
            for details in contacts:
                for size, s in sessions.items():
                    elapsed, recognised = match_once(s, details)
                    timings[size].append(elapsed)
                    found[size] += recognised
        small_ctx.engine.dispose()
        large_ctx.engine.dispose()
    record(
        f"matching: median per contact with {LARGE:,} people stored vs {SMALL:,} (SQLite)",
        statistics.median(timings[LARGE]) * 1000, statistics.median(timings[SMALL]) * 1000,
        "ms",
    )
    print(f"  {CONTACTS} contacts; recognised {found[SMALL]} (1k) and {found[LARGE]} "
          f"({LARGE // 1000}k) repeat writers of {CONTACTS // 3 + (CONTACTS % 3 > 0)}")


if __name__ == "__main__":
    main()
