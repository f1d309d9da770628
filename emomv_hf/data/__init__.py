"""EmoMV data: the authors' release, the Hub schema, the pairing recipe and the Hub dataset builders.

Import from the submodules (one role each, see docs/architecture.md); this package imports none of them, so
importing one stays cheap.
"""
