"""The encoder model families, one module each, on the shared loading and call path of ``base.py``."""
