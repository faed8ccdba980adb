"""Data generators and benchmarks (not run by the test suite)."""
