"""The repositories: every SQL statement of the store, set-based, inside the caller's transaction.

One module per aggregate. Each repository works on the session of one unit of work and never
commits; what goes in and comes out are domain models (pydantic), never ORM rows.
"""
