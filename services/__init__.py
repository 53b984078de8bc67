"""The service layer: one function per use case, each given a unit of work.

The command line, the flows' tasks and the deployments call these; none of them touches the
store, a transaction or SQL directly.
"""
