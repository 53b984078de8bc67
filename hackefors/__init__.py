"""hackefors: joint ISO 14001 certification of SME networks, as Prefect flows."""

from adapters.settings import EXAMPLES_DIR, PROJECT_ROOT, TEMPLATES_DIR

__all__ = ["EXAMPLES_DIR", "PROJECT_ROOT", "TEMPLATES_DIR"]
