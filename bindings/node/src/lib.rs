//! Node bindings for firekeep
