"""Prefect tasks and the plain adapters they call (store, files, rendering, mail)."""
