"""The entities an import loads, by name: one `paceline import` command each.

In a module of their own, with nothing else, because the command line declares one import
command per entity on every start (`paceline log` included) and `ingest.entities` names them
in each field's table: importing them from `ingest.sources`, beside the sources' dataclasses,
made every `log` define two dataclasses it never uses (about 10 M instructions, half a per
cent; benchmarks/README.md, cli_startup). `ingest.sources` and `ingest.mapping` re-export them.
"""

from __future__ import annotations

from typing import Literal

Entity = Literal["activities", "deals", "reps", "accounts", "contacts", "stage_history"]
ENTITIES: tuple[Entity, ...] = (
    "activities",
    "deals",
    "reps",
    "accounts",
    "contacts",
    "stage_history",
)
