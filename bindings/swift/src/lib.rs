//! uniffi bindings (Swift, Kotlin) for firekeep
