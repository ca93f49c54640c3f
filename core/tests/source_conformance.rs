//! The shared source/target conformance suite against the in-memory Firestore.

use firekeep_core::model::DatabaseId;
use firekeep_core::source::conformance;
use firekeep_core::source::memory::MemoryFirestore;

#[test]
fn memory_firestore_conforms() {
    let db = MemoryFirestore::new(DatabaseId::new("conformance", "(default)").unwrap());
    futures::executor::block_on(conformance::run_all(&db));
}
