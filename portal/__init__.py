"""The coordinators' portal: a FastAPI application with server-rendered Jinja2 pages.

- `app.create_app()` builds it (settings, unit of work and mailer injectable for tests); the
  command `hackefors portal` serves it with uvicorn.
- `routes/`: one module per area (`sign_in`, `network`, `company`); each route parses its input,
  checks the role with a dependency of `security.py`, calls one service and renders a page.
  Another helper adds its routers (the public /verify page, the key set, the auditors' pages) to
  the list in `create_app`.
- `security.py`: the session cookie and `current_account` (the signed-in `models.accounts.Account`),
  the role dependencies `company_access(page)`, `verifier_access`, `operator_access`,
  `network_access`, `audits_access` and `auditor_access` (404 for what the role may not see; the
  rules themselves are in `models/accounts.py`; no route reads a role, tests/unit/test_layers.py),
  `check_csrf` (a dependency of every POST; forms carry `csrf` from the page context) and the
  sign-in rate limit.
- `pages.py`: `render(request, template, **context)`; templates get `account`, `csrf`, `today` and
  the path helpers of `models/links.py`.
- No SQL here: the routes call `services/` (accounts, companies, evidence, spreadsheets).
- Every route has a row in `tests/portal/test_roles.py` (ROUTES: who may use it; public pages are
  "public"): the test walks the application's routes and fails on one without its row, or on a
  signed-in route without a role dependency of `security.py`.
"""
