"""The audit trail: who touched which children's data, hash-chained and append-only."""

from services.audit.trail import ChainBreak, chain_inbox, record, verify

__all__ = ["ChainBreak", "chain_inbox", "record", "verify"]
