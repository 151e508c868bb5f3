"""Territories of accelerated implementation and the directory ("annuaire")."""
