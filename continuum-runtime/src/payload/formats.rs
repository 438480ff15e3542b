//! [`Payload`] for string-formatted types: IP addresses, and with the cargo
//! features of the same names `uuid`, `chrono`, `time` and `url`. Each
//! travels as a JSON string, described as [`TypeSchema::Format`] with its
//! JSON Schema `format`, and checked on decode by the type's own parser.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Payload;
use crate::schema::{StringFormat, TypeSchema};
use crate::validate::Checker;

/// `Payload` for `$t`, a string in `$format` that `$parses`.
macro_rules! formatted {
    ($($t:ty: $name:ident = $format:expr, $any_of:expr, $expected:literal, $parses:expr;)*) => {$(
        static $name: StringFormat = StringFormat {
            format: $format,
            any_of: $any_of,
            expected: $expected,
            parses: $parses,
        };
        impl Payload for $t {
            fn check(&self, _: &mut Checker) {}
            fn describe() -> TypeSchema {
                TypeSchema::Format(&$name)
            }
        }
    )*};
}

formatted! {
    IpAddr: IP = None, &["ipv4", "ipv6"], "an IP address", |s| s.parse::<IpAddr>().is_ok();
    Ipv4Addr: IPV4 = Some("ipv4"), &[], "an IPv4 address", |s| s.parse::<Ipv4Addr>().is_ok();
    Ipv6Addr: IPV6 = Some("ipv6"), &[], "an IPv6 address", |s| s.parse::<Ipv6Addr>().is_ok();
}

#[cfg(feature = "uuid")]
formatted! {
    uuid::Uuid: UUID = Some("uuid"), &[], "a UUID", |s| uuid::Uuid::parse_str(s).is_ok();
}

#[cfg(feature = "url")]
formatted! {
    url::Url: URL = Some("uri"), &[], "an absolute URL", |s| url::Url::parse(s).is_ok();
}

#[cfg(feature = "chrono")]
formatted! {
    chrono::DateTime<chrono::Utc>: CHRONO_UTC = Some("date-time"), &[], "an RFC 3339 date-time",
        |s| s.parse::<chrono::DateTime<chrono::Utc>>().is_ok();
    chrono::DateTime<chrono::FixedOffset>: CHRONO_FIXED = Some("date-time"), &[], "an RFC 3339 date-time",
        |s| s.parse::<chrono::DateTime<chrono::FixedOffset>>().is_ok();
    chrono::NaiveDate: CHRONO_DATE = Some("date"), &[], "a date such as 2026-01-31",
        |s| s.parse::<chrono::NaiveDate>().is_ok();
}

/// `time::OffsetDateTime` travels as RFC 3339 (its own `Serialize` writes
/// another format unless asked), through `time::serde::rfc3339`.
#[cfg(feature = "time")]
mod time_rfc3339 {
    use serde::{Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::OffsetDateTime;

    use super::{Checker, Payload, StringFormat, TypeSchema};

    static RFC3339: StringFormat = StringFormat {
        format: Some("date-time"),
        any_of: &[],
        expected: "an RFC 3339 date-time",
        parses: |s| OffsetDateTime::parse(s, &Rfc3339).is_ok(),
    };

    impl Payload for OffsetDateTime {
        fn check(&self, _: &mut Checker) {}
        fn describe() -> TypeSchema {
            TypeSchema::Format(&RFC3339)
        }
        fn __serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            time::serde::rfc3339::serialize(self, serializer)
        }
        fn __deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            time::serde::rfc3339::deserialize(deserializer)
        }
    }
}
