"""The package version, importable from any layer (the server and archives report it)."""
__version__ = "0.1.0"
