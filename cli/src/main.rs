//! The `firekeep` command-line tool.

fn main() {}
