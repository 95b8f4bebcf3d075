"""Trends, drift and knowledge gaps with false-discovery control (filled in below)."""
