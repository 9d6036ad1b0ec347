"""Carriers: the protocol, one httpx adapter per carrier API, their vocabularies, the worker."""
