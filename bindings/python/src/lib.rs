//! Python bindings for firekeep
