//! Shared helpers for firekeep's criterion benchmarks.
