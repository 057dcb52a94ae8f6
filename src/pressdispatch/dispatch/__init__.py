"""Dispatch: plan who gets what, send it, record each outcome in the ledger."""
