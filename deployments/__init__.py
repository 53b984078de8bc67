"""Schedules and the serve entry point of the flows operators run."""
