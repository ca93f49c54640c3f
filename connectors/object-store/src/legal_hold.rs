//! S3 Object Lock legal holds (`PutObjectLegalHold` / `GetObjectLegalHold`) on single
//! objects. object_store has no call for them, so this sends the two requests itself, with
//! object_store's own SigV4 signer ([`AwsAuthorizer`]), credential provider and HTTP client,
//! to the endpoint, region and addressing style the S3 store was built with.

use bytes::Bytes;
use firekeep_core::storage::{ObjectHoldAnswer, ObjectHoldMode};
use firekeep_core::{Error, Result};
use futures::StreamExt;
use object_store::aws::{AwsAuthorizer, AwsCredentialProvider};
use object_store::client::{HttpClient, HttpRequest};
use std::time::Duration;

/// Largest legal-hold answer read: a few hundred bytes of XML, or an error document.
const MAX_ANSWER_BYTES: usize = 64 << 10;
/// Longest server message quoted in an error.
const MAX_MESSAGE_CHARS: usize = 300;
/// S3's XML namespace for request bodies.
const BODY_ON: &str =
    r#"<LegalHold xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>ON</Status></LegalHold>"#;
const BODY_OFF: &str = r#"<LegalHold xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>OFF</Status></LegalHold>"#;

/// URI encoding of a key for the request path (SigV4: every byte but unreserved ones and
/// `/`), the same set object_store uses.
const PATH_ENCODE: percent_encoding::AsciiSet = percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// What the S3 store was built with, kept to send legal-hold requests the same way.
#[derive(Debug)]
pub(crate) struct S3LegalHold {
    pub(crate) mode: ObjectHoldMode,
    pub(crate) http: HttpClient,
    pub(crate) credentials: AwsCredentialProvider,
    /// `https://s3.<region>.amazonaws.com/<bucket>`, `<endpoint>/<bucket>` or, for
    /// virtual-hosted style, the bucket's own endpoint; no trailing `/`.
    pub(crate) bucket_endpoint: String,
    pub(crate) bucket: String,
    pub(crate) region: String,
    /// `aws_skip_signature`: anonymous requests.
    pub(crate) skip_signature: bool,
    /// Tries per request on 5xx, throttling and connection errors.
    pub(crate) max_tries: usize,
    /// For messages (no credentials).
    pub(crate) store: String,
}

/// The bucket endpoint exactly as object_store's S3 builder derives it.
pub(crate) fn bucket_endpoint(
    endpoint: Option<&str>,
    bucket: &str,
    region: &str,
    virtual_hosted: bool,
) -> String {
    match (endpoint, virtual_hosted) {
        (Some(e), true) => e.trim_end_matches('/').to_string(),
        (Some(e), false) => format!("{}/{bucket}", e.trim_end_matches('/')),
        (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
    }
}

/// One answer: status, S3 error code and message (empty on success), and the body.
struct Answer {
    status: u16,
    code: String,
    message: String,
    body: String,
}

impl S3LegalHold {
    /// Sets or clears the legal hold on the current version of `key` (the full object key).
    pub(crate) async fn set(&self, key: &str, on: bool) -> Result<ObjectHoldAnswer> {
        let body = if on { BODY_ON } else { BODY_OFF };
        let a = self.send(http::Method::PUT, key, Some(body)).await?;
        if a.status / 100 == 2 {
            return Ok(if on {
                ObjectHoldAnswer::On
            } else {
                ObjectHoldAnswer::Off
            });
        }
        self.refusal("setting the legal hold on", "s3:PutObjectLegalHold", key, a)
    }

    /// The legal hold status of the current version of `key`.
    pub(crate) async fn get(&self, key: &str) -> Result<ObjectHoldAnswer> {
        let a = self.send(http::Method::GET, key, None).await?;
        if a.status / 100 == 2 {
            return Ok(match xml_text(&a.body, "Status").as_deref() {
                Some("ON") => ObjectHoldAnswer::On,
                // Absent: moto's answer for an object never held.
                Some("OFF") | None => ObjectHoldAnswer::Off,
                Some(other) => {
                    return Err(Error::Storage(format!(
                        "{}: the legal hold of {key} has an unknown status {:?}",
                        self.store,
                        truncate(other)
                    )));
                }
            });
        }
        // S3's answer for an object whose legal hold was never set.
        if a.code == "NoSuchObjectLockConfiguration" {
            return Ok(ObjectHoldAnswer::Off);
        }
        self.refusal("reading the legal hold of", "s3:GetObjectLegalHold", key, a)
    }

    /// Maps a non-2xx answer to an answer or a typed error saying what to do.
    fn refusal(
        &self,
        what: &str,
        permission: &str,
        key: &str,
        a: Answer,
    ) -> Result<ObjectHoldAnswer> {
        let bucket = &self.bucket;
        let said = if a.code.is_empty() {
            format!("HTTP {}", a.status)
        } else {
            format!("HTTP {} {}: {}", a.status, a.code, a.message)
        };
        let lock_missing = a.code == "InvalidRequest"
            && a.message
                .to_ascii_lowercase()
                .replace(' ', "")
                .contains("objectlock");
        if lock_missing {
            return Ok(ObjectHoldAnswer::NotEnabled(format!(
                "bucket {bucket} does not have S3 Object Lock enabled ({said}), so S3 cannot put \
                 a legal hold on its objects; Object Lock is turned on when a bucket is created \
                 (or later, on a versioned bucket, with PutObjectLockConfiguration): back up to \
                 such a bucket, or set the storage option object_legal_hold=off"
            )));
        }
        // S3-compatible stores without Object Lock (R2, some gateways) do not know the call.
        if matches!(a.status, 405 | 501) || a.code == "NotImplemented" {
            return Ok(ObjectHoldAnswer::NotEnabled(format!(
                "{} does not implement S3 Object Lock legal holds ({said})",
                self.store
            )));
        }
        Err(match (a.status, a.code.as_str()) {
            (403, _) => Error::PermissionDenied(format!(
                "{what} {key} in {} was refused ({said}); the credentials need \
                 {permission} on arn:aws:s3:::{bucket}/* (see docs/storage.md)",
                self.store
            )),
            (401, _) => Error::Unauthenticated(format!(
                "{what} {key} in {}: {said}; check the credentials",
                self.store
            )),
            (404, "NoSuchBucket") => Error::NotFound(format!("bucket {bucket} ({said})")),
            (404, _) => Error::NotFound(format!("{key} in {} ({said})", self.store)),
            _ => Error::Storage(format!(
                "{what} {key} in {} failed: {said}; check the endpoint and bucket",
                self.store
            )),
        })
    }

    /// Sends one signed `?legal-hold` request, retrying 5xx answers and connection errors.
    async fn send(&self, method: http::Method, key: &str, body: Option<&str>) -> Result<Answer> {
        let url = format!(
            "{}/{}?legal-hold",
            self.bucket_endpoint,
            percent_encoding::utf8_percent_encode(key, &PATH_ENCODE)
        );
        let mut delay = Duration::from_millis(100);
        let mut tries = 0;
        loop {
            tries += 1;
            let last = tries >= self.max_tries;
            let request = self.request(&method, &url, body).await?;
            match self.http.execute(request).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let answer = read_bounded(response.into_body(), &self.store, key).await;
                    let throttled = status == 503 || status == 500 || status == 502;
                    match answer {
                        Ok(text) if !throttled || last => {
                            let (code, message) = if status / 100 == 2 {
                                (String::new(), String::new())
                            } else {
                                (
                                    xml_text(&text, "Code").unwrap_or_default(),
                                    truncate(&xml_text(&text, "Message").unwrap_or_default()),
                                )
                            };
                            return Ok(Answer {
                                status,
                                code,
                                message: crate::redact(&message),
                                body: text,
                            });
                        }
                        Err(e) if last => return Err(e),
                        _ => {}
                    }
                }
                Err(e) if last => {
                    return Err(Error::Storage(format!(
                        "legal-hold request for {key} to {} failed after {tries} tries: {}; \
                         check the endpoint and network",
                        self.store,
                        crate::redact(&e.to_string())
                    )));
                }
                Err(_) => {}
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// A signed request (fresh credentials each time: they may rotate).
    async fn request(
        &self,
        method: &http::Method,
        url: &str,
        body: Option<&str>,
    ) -> Result<HttpRequest> {
        let mut builder = http::Request::builder().method(method.clone()).uri(url);
        if let Some(b) = body {
            use base64::Engine as _;
            use md5::Digest as _;
            // S3 requires Content-MD5 (or an x-amz-checksum-*) on PutObjectLegalHold; MD5
            // is the form every S3-compatible store accepts.
            let md5 = md5::Md5::digest(b.as_bytes());
            builder = builder
                .header(
                    "content-md5",
                    base64::engine::general_purpose::STANDARD.encode(md5.as_slice()),
                )
                .header("content-type", "application/xml");
        }
        let payload = Bytes::from(body.unwrap_or("").to_string());
        let mut request: HttpRequest = builder.body(payload.into()).map_err(|e| {
            Error::InvalidConfig(format!(
                "cannot build a legal-hold request for {}: {e}",
                self.store
            ))
        })?;
        if !self.skip_signature {
            let credential = self.credentials.get_credential().await.map_err(|e| {
                Error::Unauthenticated(format!(
                    "no S3 credentials for the legal hold on {}: {}; set access_key_id and \
                     secret_access_key or the AWS_* environment",
                    self.store,
                    crate::redact(&e.to_string())
                ))
            })?;
            AwsAuthorizer::new(&credential, "s3", &self.region)
                .try_authorize(&mut request, None)
                .map_err(|e| {
                    Error::InvalidConfig(format!(
                        "cannot sign the legal-hold request for {}: {}",
                        self.store,
                        crate::redact(&e.to_string())
                    ))
                })?;
        }
        Ok(request)
    }
}

/// Reads a response body, refusing (before buffering more) one over [`MAX_ANSWER_BYTES`].
async fn read_bounded(
    body: object_store::client::HttpResponseBody,
    store: &str,
    key: &str,
) -> Result<String> {
    let mut stream = body.bytes_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            Error::Storage(format!(
                "reading the legal-hold answer for {key} from {store}: {}",
                crate::redact(&e.to_string())
            ))
        })?;
        if buf.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(Error::Storage(format!(
                "{store} answered the legal-hold request for {key} with more than \
                 {MAX_ANSWER_BYTES} bytes; that is not S3's answer, check the endpoint"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// The text of the first `<tag>` element (S3's XML is flat enough for this).
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find('<')? + start;
    Some(xml[start..end].trim().to_string())
}

fn truncate(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_MESSAGE_CHARS).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_endpoint_matches_object_store() {
        assert_eq!(
            bucket_endpoint(Some("http://127.0.0.1:5000/"), "b", "us-east-1", false),
            "http://127.0.0.1:5000/b"
        );
        assert_eq!(
            bucket_endpoint(Some("https://b.example.com"), "b", "x", true),
            "https://b.example.com"
        );
        assert_eq!(
            bucket_endpoint(None, "b", "eu-west-1", true),
            "https://b.s3.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            bucket_endpoint(None, "b", "eu-west-1", false),
            "https://s3.eu-west-1.amazonaws.com/b"
        );
    }

    #[test]
    fn reads_flat_xml_fields() {
        let e = "<Error><Code>InvalidRequest</Code><Message>Bucket is missing \
                 ObjectLockConfiguration</Message></Error>";
        assert_eq!(xml_text(e, "Code").unwrap(), "InvalidRequest");
        assert!(xml_text(e, "Message").unwrap().contains("ObjectLock"));
        assert_eq!(xml_text("<LegalHold/>", "Status"), None);
        assert_eq!(truncate(&"x".repeat(400)).chars().count(), 301);
    }

    #[test]
    fn bodies_are_the_documented_xml() {
        // The MD5 must be of exactly these bytes; S3 rejects a mismatch with BadDigest.
        assert!(BODY_ON.contains("<Status>ON</Status>"));
        assert!(BODY_OFF.contains("<Status>OFF</Status>"));
        let enc: String =
            percent_encoding::utf8_percent_encode("p/a b+c~", &PATH_ENCODE).to_string();
        assert_eq!(enc, "p/a%20b%2Bc~");
    }
}
