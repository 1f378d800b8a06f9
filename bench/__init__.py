"""Benchmarks, run by ``make bench``; each prints its times and ratios against a baseline from the same run."""
