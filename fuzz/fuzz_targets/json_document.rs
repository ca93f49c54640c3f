//! The Firestore REST JSON document decoder on arbitrary bytes: never panics, and whatever
//! it accepts re-encodes to JSON that decodes to the same document.
#![no_main]

use firekeep_core::model::json::{decode_document, encode_document};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = decode_document(data) {
        let again = encode_document(&doc);
        let back = decode_document(&again).expect("re-encoded document must decode");
        assert_eq!(encode_document(&back), again, "encoding is not stable");
    }
});
