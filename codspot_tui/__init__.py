"""codspot-tui: cash-on-delivery order operations from a terminal."""

__version__ = "0.1.0"
