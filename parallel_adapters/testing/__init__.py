"""A local emulator of the Parallel Chat API and cassette helpers (extra: `emulator`)."""
