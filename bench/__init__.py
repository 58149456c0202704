"""Benchmarks and measuring tools (see bench/README.md); not part of the server."""
