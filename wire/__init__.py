"""The wire formats of every alertfold topic: how each record's bytes map to domain values.

This is the bottom layer above `domain`: the agents, projections, gateways and adapters all
read and write topics through it, and it imports nothing but the domain.
"""
