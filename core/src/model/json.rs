//! The Firestore REST JSON mapping of documents (newline-delimited), lossless.
