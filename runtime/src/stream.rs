//! Server-streaming framings, shared by the client and the server.
//!
//! Two framings carry a stream of JSON messages in one HTTP response body:
//!
//! - **JSONL** (`Accept: application/jsonl`, how the official SDKs call a streaming method): one
//!   JSON message per line. An error after the stream started is a last line
//!   `{"error": {"code": "...", "message": "...", "details": [...]}}` (the JSON of a Connect
//!   end-of-stream message without metadata). The SDK's `JSONLDecoder` has no notion of errors:
//!   it hands that line to the caller as one more message, whose `error` attribute (an extra
//!   field of the pydantic model) holds the code and message.
//! - **Connect** (`Content-Type: application/connect+json`, how connect-go / connect-es call it):
//!   envelopes of 1 flag byte, a 4-byte big-endian length and that many bytes of JSON. The last
//!   envelope has flag `0x02` (end of stream) and carries `{"error": {...}?, "metadata": {...}?}`:
//!   the error, if any, and the trailers.

// `ConnectError` is the runtime's error type everywhere; boxing it here alone would not help.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use crate::error::ConnectError;

/// The JSONL media type (`Accept` of a streaming call, `Content-Type` of its answer).
pub const JSONL_CONTENT_TYPE: &str = "application/jsonl";
/// The Connect streaming JSON media type.
pub const CONNECT_JSON_CONTENT_TYPE: &str = "application/connect+json";
/// Envelope flag of the end-of-stream message.
pub const END_STREAM_FLAG: u8 = 0x02;
/// Envelope flag of a compressed message (not supported: neither side compresses).
pub const COMPRESSED_FLAG: u8 = 0x01;

/// How the messages of a server stream are framed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Framing {
    /// One JSON message per line (`application/jsonl`), as the official SDKs read them.
    #[default]
    Jsonl,
    /// Connect envelopes (`application/connect+json`) ending with an end-of-stream envelope.
    Connect,
}

impl Framing {
    /// The response `Content-Type` of this framing.
    pub fn content_type(self) -> &'static str {
        match self {
            Framing::Jsonl => JSONL_CONTENT_TYPE,
            Framing::Connect => CONNECT_JSON_CONTENT_TYPE,
        }
    }

    /// One message (its JSON) framed.
    pub fn message(self, json: &[u8]) -> Vec<u8> {
        match self {
            Framing::Jsonl => {
                let mut out = Vec::with_capacity(json.len() + 1);
                out.extend_from_slice(json);
                out.push(b'\n');
                out
            }
            Framing::Connect => envelope(0, json),
        }
    }

    /// The end of the stream: for Connect always an end-of-stream envelope (with the error and the
    /// trailers, if any); for JSONL an error line when there is an error, else nothing.
    pub fn end(self, error: Option<&ConnectError>, trailers: &BTreeMap<String, Vec<String>>) -> Vec<u8> {
        match self {
            Framing::Jsonl => match error {
                Some(e) => {
                    let mut line = serde_json::to_vec(&serde_json::json!({ "error": e.to_json() }))
                        .unwrap_or_else(|_| b"{\"error\":{\"code\":\"internal\"}}".to_vec());
                    line.push(b'\n');
                    line
                }
                None => Vec::new(),
            },
            Framing::Connect => {
                let mut end = serde_json::Map::new();
                if let Some(e) = error {
                    end.insert("error".into(), e.to_json());
                }
                if !trailers.is_empty() {
                    end.insert("metadata".into(), serde_json::to_value(trailers).unwrap_or_default());
                }
                let json = serde_json::to_vec(&serde_json::Value::Object(end)).unwrap_or_else(|_| b"{}".to_vec());
                envelope(END_STREAM_FLAG, &json)
            }
        }
    }
}

/// One Connect envelope: `flags`, the big-endian length of `payload`, `payload`.
pub fn envelope(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 5);
    out.push(flags);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// What a [`FrameDecoder`] took out of the bytes received so far.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// One message's JSON.
    Message(Vec<u8>),
    /// The end of the stream: the error it carries (JSONL error line or Connect end-of-stream
    /// envelope), and the trailers (Connect `metadata`).
    End {
        /// The error the stream ended with, if any.
        error: Option<ConnectError>,
        /// The trailers (Connect end-of-stream `metadata`; JSONL has none).
        trailers: BTreeMap<String, Vec<String>>,
    },
}

/// Cuts a response body, fed chunk by chunk, into frames. Bounded: a frame larger than
/// `max_frame_bytes` is an error (`resource_exhausted`).
#[derive(Debug)]
pub struct FrameDecoder {
    framing: Framing,
    buf: Vec<u8>,
    /// Where the next frame starts in `buf` (consumed bytes are dropped lazily).
    start: usize,
    /// JSONL: how far `buf` was already searched for a newline.
    scanned: usize,
    max_frame_bytes: usize,
}

impl FrameDecoder {
    /// A decoder for `framing`, refusing frames larger than `max_frame_bytes`.
    pub fn new(framing: Framing, max_frame_bytes: usize) -> Self {
        FrameDecoder { framing, buf: Vec::new(), start: 0, scanned: 0, max_frame_bytes }
    }

    /// The framing this decoder reads.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Appends received bytes.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.scanned = 0;
            self.start = 0;
        } else if self.start > 64 * 1024 && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete frame, if the bytes received so far hold one.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, ConnectError> {
        match self.framing {
            Framing::Jsonl => loop {
                let from = self.scanned.max(self.start);
                let Some(pos) = self.buf[from..].iter().position(|&b| b == b'\n') else {
                    self.scanned = self.buf.len();
                    if self.buf.len() - self.start > self.max_frame_bytes {
                        return Err(self.too_large());
                    }
                    return Ok(None);
                };
                let end = from + pos;
                let line = &self.buf[self.start..end];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let frame = if line.iter().all(u8::is_ascii_whitespace) { None } else { Some(jsonl_frame(line)) };
                self.start = end + 1;
                self.scanned = self.start;
                if let Some(frame) = frame {
                    return Ok(Some(frame));
                }
            },
            Framing::Connect => {
                let avail = &self.buf[self.start..];
                if avail.len() < 5 {
                    return Ok(None);
                }
                let flags = avail[0];
                let len = u32::from_be_bytes([avail[1], avail[2], avail[3], avail[4]]) as usize;
                if len > self.max_frame_bytes {
                    return Err(self.too_large());
                }
                if avail.len() < 5 + len {
                    return Ok(None);
                }
                let payload = avail[5..5 + len].to_vec();
                self.start += 5 + len;
                if flags & COMPRESSED_FLAG != 0 {
                    return Err(ConnectError::internal(
                        "received a compressed envelope, but no compression was asked for",
                    ));
                }
                if flags & END_STREAM_FLAG != 0 {
                    return end_stream(&payload).map(Some);
                }
                Ok(Some(Frame::Message(payload)))
            }
        }
    }

    /// Call when the body ended: an error if it ended inside a frame. A JSONL body may end
    /// without a final newline (its last line is a frame, as the SDK's decoder reads it).
    pub fn finish(&mut self) -> Result<Option<Frame>, ConnectError> {
        let rest = &self.buf[self.start..];
        if rest.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        match self.framing {
            Framing::Jsonl => {
                let frame = jsonl_frame(rest);
                self.start = self.buf.len();
                Ok(Some(frame))
            }
            Framing::Connect => Err(ConnectError::internal(format!(
                "the stream ended inside an envelope ({} bytes left over)",
                rest.len()
            ))),
        }
    }

    fn too_large(&self) -> ConnectError {
        ConnectError::resource_exhausted(format!("a stream message is larger than {} bytes", self.max_frame_bytes))
    }
}

/// A JSONL line: an error line (an object whose only keys are `error`, holding an object with a
/// `code`, and optionally `metadata`) or a message.
fn jsonl_frame(line: &[u8]) -> Frame {
    // Cheap pre-check so ordinary messages are not parsed twice.
    let trimmed = line.trim_ascii_start();
    if trimmed.starts_with(b"{\"error\"") || trimmed.starts_with(b"{ \"error\"") {
        if let Ok(Frame::End { error: Some(e), trailers }) = end_stream(line) {
            return Frame::End { error: Some(e), trailers };
        }
    }
    Frame::Message(line.to_vec())
}

/// Reads an end-of-stream message `{"error"?: {...}, "metadata"?: {...}}`.
fn end_stream(json: &[u8]) -> Result<Frame, ConnectError> {
    let value: serde_json::Value = serde_json::from_slice(json)
        .map_err(|e| ConnectError::internal(format!("invalid end-of-stream message: {e}")))?;
    let obj = value.as_object().ok_or_else(|| ConnectError::internal("the end-of-stream message is not an object"))?;
    if obj.keys().any(|k| k != "error" && k != "metadata") {
        return Err(ConnectError::internal("the end-of-stream message has unknown keys"));
    }
    let trailers = match obj.get("metadata") {
        None | Some(serde_json::Value::Null) => BTreeMap::new(),
        Some(m) => serde_json::from_value::<BTreeMap<String, Vec<String>>>(m.clone())
            .map_err(|e| ConnectError::internal(format!("invalid end-of-stream metadata: {e}")))?,
    };
    let error = match obj.get("error") {
        None | Some(serde_json::Value::Null) => None,
        Some(e @ serde_json::Value::Object(o)) if o.get("code").is_some_and(|c| c.is_string()) => {
            let bytes = serde_json::to_vec(e).unwrap_or_default();
            let mut err = ConnectError::from_response(200, &bytes, None);
            err.http_status = None;
            Some(err)
        }
        Some(_) => return Err(ConnectError::internal("the end-of-stream error has no code")),
    };
    Ok(Frame::End { error, trailers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;

    fn frames(framing: Framing, bytes: &[u8], chunk: usize) -> Vec<Frame> {
        let mut d = FrameDecoder::new(framing, 1 << 20);
        let mut out = Vec::new();
        for c in bytes.chunks(chunk) {
            d.push(c);
            while let Some(f) = d.next_frame().unwrap() {
                out.push(f);
            }
        }
        out.extend(d.finish().unwrap());
        out
    }

    #[test]
    fn jsonl_lines_split_anywhere() {
        let err = ConnectError::not_found("gone");
        let mut body = b"{\"a\":1}\n\r\n{\"a\":2}\r\n".to_vec();
        body.extend(Framing::Jsonl.end(Some(&err), &BTreeMap::new()));
        for chunk in [1, 2, 3, 7, 64] {
            let f = frames(Framing::Jsonl, &body, chunk);
            assert_eq!(f.len(), 3, "chunk {chunk}");
            assert_eq!(f[0], Frame::Message(b"{\"a\":1}".to_vec()));
            assert_eq!(f[1], Frame::Message(b"{\"a\":2}".to_vec()));
            match &f[2] {
                Frame::End { error: Some(e), .. } => {
                    assert_eq!((e.code.clone(), e.message.as_str()), (Code::NotFound, "gone"))
                }
                other => panic!("{other:?}"),
            }
        }
        // No final newline: the last line is still a message (as the SDK reads it).
        assert_eq!(frames(Framing::Jsonl, b"{\"a\":1}", 3), vec![Frame::Message(b"{\"a\":1}".to_vec())]);
        // A message with a field named `error` that is not an error object stays a message.
        assert_eq!(
            frames(Framing::Jsonl, b"{\"error\":\"x\"}\n", 3),
            vec![Frame::Message(b"{\"error\":\"x\"}".to_vec())]
        );
    }

    #[test]
    fn connect_envelopes_with_end_of_stream_error_and_trailers() {
        let mut trailers = BTreeMap::new();
        trailers.insert("x-trailer".to_string(), vec!["t".to_string()]);
        let mut body = Framing::Connect.message(b"{\"a\":1}");
        body.extend(Framing::Connect.end(Some(&ConnectError::aborted("stop")), &trailers));
        assert_eq!(body[0], 0);
        assert_eq!(&body[1..5], &7u32.to_be_bytes());
        for chunk in [1, 4, 5, 6, 100] {
            let f = frames(Framing::Connect, &body, chunk);
            assert_eq!(f[0], Frame::Message(b"{\"a\":1}".to_vec()));
            match &f[1] {
                Frame::End { error: Some(e), trailers: t } => {
                    assert_eq!(e.code, Code::Aborted);
                    assert_eq!(t, &trailers);
                }
                other => panic!("{other:?}"),
            }
        }
        let ok = Framing::Connect.end(None, &BTreeMap::new());
        assert_eq!(ok, envelope(2, b"{}"));
        let mut d = FrameDecoder::new(Framing::Connect, 4);
        d.push(&envelope(0, b"{\"a\":1}"));
        assert_eq!(d.next_frame().unwrap_err().code, Code::ResourceExhausted);
        let mut d = FrameDecoder::new(Framing::Connect, 100);
        d.push(&envelope(0, b"{\"a\":1}")[..6]);
        assert!(d.next_frame().unwrap().is_none());
        assert!(d.finish().is_err());
    }
}
