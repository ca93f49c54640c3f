//! Shared conformance suite for `FirestoreSource` and `FirestoreTarget` implementations.
