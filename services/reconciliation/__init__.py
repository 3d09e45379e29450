"""Reconciliation: health records against an authority's education records."""
