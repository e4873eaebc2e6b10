"""The shared core: no framework imports here."""
