//! Firestore v1 gRPC source and restore target for firekeep
