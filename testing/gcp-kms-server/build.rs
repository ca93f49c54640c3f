//! Generates a tonic server for the parts of `google.cloud.kms.v1.KeyManagementService` that
//! firekeep uses, over the prost types of `googleapis-tonic-google-cloud-kms-v1` (that crate
//! ships only the client). Routes not listed answer UNIMPLEMENTED.

fn main() {
    const T: &str = "googleapis_tonic_google_cloud_kms_v1::google::cloud::kms::v1";
    // (rust name, route name, input, output)
    let methods = [
        ("encrypt", "Encrypt", "EncryptRequest", "EncryptResponse"),
        ("decrypt", "Decrypt", "DecryptRequest", "DecryptResponse"),
        (
            "get_crypto_key",
            "GetCryptoKey",
            "GetCryptoKeyRequest",
            "CryptoKey",
        ),
        (
            "update_crypto_key_version",
            "UpdateCryptoKeyVersion",
            "UpdateCryptoKeyVersionRequest",
            "CryptoKeyVersion",
        ),
        (
            "destroy_crypto_key_version",
            "DestroyCryptoKeyVersion",
            "DestroyCryptoKeyVersionRequest",
            "CryptoKeyVersion",
        ),
        (
            "restore_crypto_key_version",
            "RestoreCryptoKeyVersion",
            "RestoreCryptoKeyVersionRequest",
            "CryptoKeyVersion",
        ),
    ];
    let mut service = tonic_build::manual::Service::builder()
        .name("KeyManagementService")
        .package("google.cloud.kms.v1");
    for (name, route, input, output) in methods {
        let m = tonic_build::manual::Method::builder()
            .name(name)
            .route_name(route)
            .input_type(format!("{T}::{input}"))
            .output_type(format!("{T}::{output}"))
            .codec_path("tonic_prost::ProstCodec");
        service = service.method(m.build());
    }
    tonic_build::manual::Builder::new()
        .build_client(false)
        .build_transport(false)
        .compile(&[service.build()]);
}
