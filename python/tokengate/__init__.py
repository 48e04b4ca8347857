"""Training-side helpers for tokengate (pure Python; the tokengate binary does the cryptography)."""

__version__ = "0.1.0"
