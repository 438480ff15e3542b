//! The standalone server's HTTP/1.1 head reader (`serve/h1.rs`): never a
//! panic, and whatever it answers itself is a request httparse (read with
//! hyper's header allowance) agrees on, framed the same way.
#![no_main]

use continuum_runtime::__fuzz::{parse_head, unfinished_head_is_answered, Head};
use libfuzzer_sys::fuzz_target;

const BODY_LIMIT: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let _ = unfinished_head_is_answered(data);
    match parse_head(data, BODY_LIMIT) {
        Head::Partial | Head::Hyper | Head::Malformed => {}
        Head::Request {
            method,
            uri,
            len,
            body_len,
            close: _,
            headers,
        } => {
            assert!(len <= data.len());
            assert!(method == "GET" || method == "POST", "{method}");
            assert!(
                uri.starts_with('/') || uri.contains("://") || uri == "*",
                "{uri}"
            );
            if method == "GET" {
                assert_eq!(body_len, 0, "a GET with a body is hyper's");
            }
            assert!(body_len <= BODY_LIMIT);
            let mut hs = [httparse::EMPTY_HEADER; 128];
            let mut req = httparse::Request::new(&mut hs);
            match req.parse(data) {
                Ok(httparse::Status::Complete(n)) => {
                    assert_eq!(n, len, "head length");
                    assert_eq!(req.version, Some(1));
                    assert_eq!(req.headers.len(), headers);
                    let declared: Vec<&[u8]> = req
                        .headers
                        .iter()
                        .filter(|h| h.name.eq_ignore_ascii_case("content-length"))
                        .map(|h| h.value)
                        .collect();
                    assert!(declared.len() <= 1, "several content-lengths answered here");
                    let parsed = declared
                        .first()
                        .map(|v| std::str::from_utf8(v).unwrap().parse::<usize>().unwrap())
                        .unwrap_or(0);
                    assert_eq!(parsed, body_len);
                    assert!(!req
                        .headers
                        .iter()
                        .any(|h| h.name.eq_ignore_ascii_case("transfer-encoding")));
                }
                other => panic!("answered here, but httparse says {other:?}"),
            }
        }
    }
});
