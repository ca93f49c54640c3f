//! In-process Firestore v1 gRPC server for tests and the demo
