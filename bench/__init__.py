"""Benchmarks of parallel-adapters against the raw openai SDK and the peers users would
otherwise pick (LlamaIndex OpenAILike, dspy.LM, LangChain's ChatParallelWeb).

Run from the repository root with the `bench` extra installed:

    pip install -e ".[bench]"
    python -m bench            # full run: bench/RESULTS.md, bench/results.json, bench/charts/
    python -m bench --quick    # smoke run into bench/quick/

Not part of the test suite (pytest collects `tests/` only). Peers and matplotlib are
imported inside the functions that use them, so importing this package needs only the
standard library.
"""
