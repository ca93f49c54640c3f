//! The in-workspace `uniffi-bindgen` (library mode): same uniffi version as the crate.
fn main() {
    uniffi::uniffi_bindgen_main()
}
