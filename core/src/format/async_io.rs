//! Async adapters over byte streams (`futures::Stream<Item = Result<Bytes>>`), the shape
//! storage uploads and downloads have. Use `futures::TryStreamExt::into_async_read` for an
//! `AsyncRead` view of the output.

use super::ObjectHeader;
use super::aead::Backend;
use super::stream::{Decryptor, Encryptor};
use crate::secret::SecretBytes;
use crate::{Error, Result};
use bytes::Bytes;
use futures::stream::{Stream, StreamExt};
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Encrypts a plaintext byte stream into the bytes of one object (header first, then
/// one item per segment). Memory: one segment.
pub fn encrypt_stream<S>(
    dek: &SecretBytes,
    header: &ObjectHeader,
    input: S,
) -> Result<impl Stream<Item = Result<Bytes>> + Send + 'static>
where
    S: Stream<Item = Result<Bytes>> + Send + 'static,
{
    let enc = Encryptor::new(dek, header)?;
    Ok(encrypt_with(enc, input))
}

/// [`encrypt_stream`] over a configured [`Encryptor`] (backend, stream header).
pub fn encrypt_with<S>(
    enc: Encryptor,
    input: S,
) -> impl Stream<Item = Result<Bytes>> + Send + 'static
where
    S: Stream<Item = Result<Bytes>> + Send + 'static,
{
    struct State<S> {
        input: Pin<Box<S>>,
        enc: Option<Encryptor>,
        out: VecDeque<Bytes>,
    }
    let state = State {
        input: Box::pin(input),
        enc: Some(enc),
        out: VecDeque::new(),
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(b) = st.out.pop_front() {
                return Some((Ok(b), st));
            }
            let enc = st.enc.as_mut()?;
            let out = &mut st.out;
            let mut emit = |b: &[u8]| -> Result<()> {
                out.push_back(Bytes::copy_from_slice(b));
                Ok(())
            };
            let step = match st.input.next().await {
                Some(Ok(chunk)) => enc.update(&chunk, &mut emit),
                Some(Err(e)) => Err(e),
                None => {
                    let enc = st.enc.take().expect("checked above");
                    enc.finish(&mut emit).map(|_| ())
                }
            };
            if let Err(e) = step {
                st.enc = None;
                st.out.clear();
                return Some((Err(e), st));
            }
        }
    })
}

/// Decrypts the bytes of one object into a stream of verified plaintext chunks (one per
/// segment). The first error ends the stream; nothing unverified is ever yielded, and a
/// truncated, reordered or extended object yields an [`Error::Integrity`] item.
pub fn decrypt_stream<S>(dek: &SecretBytes, input: S) -> DecryptStream<S>
where
    S: Stream<Item = Result<Bytes>> + Unpin,
{
    DecryptStream {
        dec: Decryptor::new(Backend::DEFAULT, dek),
        input,
        pending: Bytes::new(),
        finished: false,
    }
}

/// The stream [`decrypt_stream`] returns; [`DecryptStream::header`] is available once the
/// first item has been produced.
pub struct DecryptStream<S> {
    dec: Decryptor,
    input: S,
    pending: Bytes,
    finished: bool,
}

impl<S> DecryptStream<S> {
    /// The object's header, once read.
    pub fn header(&self) -> Option<&ObjectHeader> {
        self.dec.header()
    }
}

impl<S> Stream for DecryptStream<S>
where
    S: Stream<Item = Result<Bytes>> + Unpin,
{
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.finished {
            return Poll::Ready(None);
        }
        loop {
            // Feed what we hold; emit as soon as a segment verifies.
            while !this.pending.is_empty() {
                let space = this.dec.space();
                if space.is_empty() {
                    this.finished = true;
                    return Poll::Ready(Some(Err(Error::integrity(
                        this.dec.header().map_or("object", |h| &h.object_name),
                        "bytes after the last segment: the object was extended",
                    ))));
                }
                let n = space.len().min(this.pending.len());
                space[..n].copy_from_slice(&this.pending[..n]);
                let _ = this.pending.split_to(n);
                match this.dec.advance(n) {
                    Ok(Some(len)) => {
                        return Poll::Ready(Some(Ok(Bytes::copy_from_slice(
                            &this.dec.plaintext()[..len],
                        ))));
                    }
                    Ok(None) => {}
                    Err(e) => {
                        this.finished = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                }
            }
            match Pin::new(&mut this.input).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(b))) => this.pending = b,
                Poll::Ready(Some(Err(e))) => {
                    this.finished = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.finished = true;
                    return match this.dec.finish() {
                        Ok(Some(len)) => Poll::Ready(Some(Ok(Bytes::copy_from_slice(
                            &this.dec.plaintext()[..len],
                        )))),
                        Ok(None) => Poll::Ready(None),
                        Err(e) => Poll::Ready(Some(Err(e))),
                    };
                }
            }
        }
    }
}
