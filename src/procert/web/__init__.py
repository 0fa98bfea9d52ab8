"""The web: public profiles with the Pro badge, the Pro directory and their JSON API (FastAPI + Jinja2)."""

from procert.web.app import create_app
from procert.web.directory import Directory, DirectoryPage, ProCard, pro_cards, search

__all__ = ["Directory", "DirectoryPage", "ProCard", "create_app", "pro_cards", "search"]
