"""The audit trail: who touched which children's data, hash-chained and append-only."""

from services.audit.trail import (
    ChainBreak,
    append_to_inbox_sql,
    chain_inbox,
    event_fields,
    record,
    verify,
)

__all__ = [
    "ChainBreak",
    "append_to_inbox_sql",
    "chain_inbox",
    "event_fields",
    "record",
    "verify",
]
