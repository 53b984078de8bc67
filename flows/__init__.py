"""The certification lifecycle as Prefect flows: one per stage, each ending in a gate."""
