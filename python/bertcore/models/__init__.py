"""The encoder model families: one spec each (``spec.py``) on the shared loading and call path of ``base.py``."""
