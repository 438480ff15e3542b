//! The subscribe query string: `?types=a.b,media.*&lastEventId=…`, and the
//! client's contract: `&contract=<fingerprint>&versions=ai.task.progress@2,…`.

use std::borrow::Cow;

/// What `GET` reads from its query string.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SubscribeQuery {
    /// `types`, split on commas, empty entries dropped; several `types`
    /// parameters add up. `None` when absent or empty: every type.
    pub(crate) types: Option<Vec<String>>,
    /// `lastEventId`, for clients that cannot set the `Last-Event-ID` header.
    pub(crate) last_event_id: Option<String>,
    /// `snapshot=true` (or `1`): start with the keyed state.
    pub(crate) snapshot: bool,
    /// `contract`: the fingerprint of the client's contract.
    pub(crate) contract: Option<String>,
    /// `versions`, as written: `<type>@<version>` items, comma-separated.
    pub(crate) versions: Option<String>,
}

/// `ai.task.progress@2,media.done@3` → the pairs; an item that is not
/// `<type>@<version from 1>` is returned as the error.
pub(crate) fn parse_versions(text: &str) -> Result<Vec<(String, u32)>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (ty, v) = item.rsplit_once('@').ok_or_else(|| item.to_owned())?;
            match v.parse::<u32>() {
                Ok(v) if v >= 1 && !ty.is_empty() => Ok((ty.to_owned(), v)),
                _ => Err(item.to_owned()),
            }
        })
        .collect()
}

impl SubscribeQuery {
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let mut out = SubscribeQuery::default();
        for (key, value) in pairs(query.unwrap_or("")) {
            match &*key {
                "types" => out.types.get_or_insert_with(Vec::new).extend(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned),
                ),
                "lastEventId" => out.last_event_id = Some(value.into_owned()),
                "snapshot" => out.snapshot = matches!(&*value, "true" | "1" | ""),
                "contract" => out.contract = Some(value.trim().to_owned()),
                "versions" => out.versions = Some(value.into_owned()),
                _ => {}
            }
        }
        // `?types=` with nothing in it filters nothing (rather than everything).
        if out.types.as_ref().is_some_and(Vec::is_empty) {
            out.types = None;
        }
        out
    }
}

/// `application/x-www-form-urlencoded` pairs: `&`-separated, `+` is a space,
/// `%XX` decoded (invalid escapes kept as written, invalid UTF-8 replaced).
fn pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (decode(k), decode(v))
    })
}

fn decode(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(hex),
                bytes.get(i + 2).and_then(hex),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_types_and_last_event_id() {
        let q = SubscribeQuery::parse(Some(
            "types=ai.task.progress%2Cmedia.*&x=1&lastEventId=abc-1_2&types=+b.c",
        ));
        assert_eq!(q.types.unwrap(), ["ai.task.progress", "media.*", "b.c"]);
        assert_eq!(q.last_event_id.as_deref(), Some("abc-1_2"));
        assert!(!q.snapshot);
        assert!(SubscribeQuery::parse(Some("snapshot=true&types=a.b")).snapshot);
        assert!(SubscribeQuery::parse(Some("snapshot=1")).snapshot);
        assert!(!SubscribeQuery::parse(Some("snapshot=false")).snapshot);
    }

    #[test]
    fn parses_the_clients_contract() {
        let q = SubscribeQuery::parse(Some(
            "contract=0123456789abcdef&versions=ai.task.progress%402,media.done@3",
        ));
        assert_eq!(q.contract.as_deref(), Some("0123456789abcdef"));
        assert_eq!(
            parse_versions(&q.versions.unwrap()).unwrap(),
            [
                ("ai.task.progress".to_owned(), 2),
                ("media.done".to_owned(), 3)
            ]
        );
        assert_eq!(parse_versions("").unwrap(), []);
        for bad in ["a.b", "a.b@0", "a.b@x", "@2", "a.b@2,c"] {
            assert!(parse_versions(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn absent_and_odd_input() {
        assert_eq!(SubscribeQuery::parse(None), SubscribeQuery::default());
        let q = SubscribeQuery::parse(Some("types=&lastEventId=%zz%4"));
        assert_eq!(q.types, None);
        assert_eq!(q.last_event_id.as_deref(), Some("%zz%4"));
        let q = SubscribeQuery::parse(Some("lastEventId=%ff"));
        assert_eq!(q.last_event_id.as_deref(), Some("\u{fffd}"));
    }
}
