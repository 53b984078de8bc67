"""The domain: pure models and rules, no Prefect, sessions, SMTP or templates."""
