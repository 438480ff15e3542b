//! Integers past 64 bits on decoding's failure path.
//!
//! The shape pass ([`crate::decode`]) walks a `serde_json::Value`, which holds
//! an integer that neither `i64` nor `u64` can as an `f64`: `u128::MAX` would
//! read as 2^128, out of its own type's range, and the normalized text would
//! carry a float where serde wants the exact integer. (serde_json's
//! `arbitrary_precision` feature would keep the digits, but cargo's feature
//! unification would turn it on for every `serde_json::Value` in the user's
//! program, changing how their numbers behave.)
//!
//! So before the payload is parsed, each such integer literal is replaced by
//! a marker string that carries its digits ([`mark`]); an integer field reads
//! the marker exactly ([`exact`]), any other field sees the number it would
//! have seen ([`to_float`]), and the normalized text gets the literal back
//! ([`unmark`]).
//!
//! ```text
//! {"big": 340282366920938463463374607431768211455}
//!   → {"big": "\u0000continuum-int:340282366920938463463374607431768211455"}
//! ```

use serde_json::Value;

/// What a marker string starts with; no JSON text a client sends can produce
/// it by accident unless it contains this very text, and then nothing is
/// marked (see [`mark`]).
const PREFIX: &str = "\u{0}continuum-int:";
/// [`PREFIX`] as JSON text writes it.
const PREFIX_JSON: &str = "\\u0000continuum-int:";

/// `json` with every integer literal past 64 bits replaced by a marker
/// string; `None` when there is none, or when `json` already contains the
/// marker's text (then decoding keeps reading those integers as floats).
pub(crate) fn mark(json: &str) -> Option<String> {
    if json.contains("continuum-int:") {
        return None;
    }
    let bytes = json.as_bytes();
    let mut out = String::new();
    let (mut copied, mut i, mut in_string) = (0, 0, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b != b'-' && !b.is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
        {
            i += 1;
        }
        let token = &json[start..i];
        let digits = if is_wide_integer(token) {
            Some(token.to_owned())
        } else {
            // `1e21`, `1.5e21`: JSON Schema counts a whole number as an
            // integer whatever its notation, as decoding does for `1.0`.
            whole_digits(token).filter(|d| is_wide_integer(d))
        };
        if let Some(digits) = digits {
            out.push_str(&json[copied..start]);
            out.push('"');
            out.push_str(PREFIX_JSON);
            out.push_str(&digits);
            out.push('"');
            copied = i;
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&json[copied..]);
    Some(out)
}

/// A JSON integer literal (no leading zero, no fraction or exponent) that
/// neither `i64` nor `u64` holds.
fn is_wide_integer(token: &str) -> bool {
    let digits = token.strip_prefix('-').unwrap_or(token);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
        && token.parse::<i64>().is_err()
        && token.parse::<u64>().is_err()
}

/// The exact digits of a number written with a fraction or an exponent
/// that is a whole number of at most 40 digits (past 128 bits either way);
/// `None` otherwise, or for anything that is not such a number.
fn whole_digits(token: &str) -> Option<String> {
    let (neg, unsigned) = match token.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, token),
    };
    let (mantissa, exp) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], unsigned[at + 1..].parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // JSON's grammar: no leading zero, digits only.
    let leading_zero = int.len() > 1 && int.starts_with('0');
    if int.is_empty()
        || leading_zero
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let all = format!("{int}{frac}");
    let digits = all.trim_start_matches('0');
    let scale = exp.checked_sub(i64::try_from(frac.len()).ok()?)?;
    let whole = if scale >= 0 {
        let zeros = usize::try_from(scale).ok()?;
        if digits.is_empty() || digits.len().checked_add(zeros)? > 40 {
            return None;
        }
        format!("{digits}{}", "0".repeat(zeros))
    } else {
        let cut = usize::try_from(scale.unsigned_abs()).ok()?;
        let keep = digits.len().checked_sub(cut)?;
        if keep == 0 || keep > 40 || !digits[keep..].bytes().all(|b| b == b'0') {
            return None;
        }
        digits[..keep].to_owned()
    };
    Some(if neg { format!("-{whole}") } else { whole })
}

/// The digits of a marker, or `None` for any other value.
fn digits(value: &Value) -> Option<&str> {
    value.as_str()?.strip_prefix(PREFIX)
}

/// The exact value of a marker, as decoding's range checks take it: a
/// negative integer as `i128`, a positive one as `u128`; `None` past 128
/// bits (out of every Rust integer type's range) or for any other value.
pub(crate) fn exact(value: &Value) -> Option<Result<i128, u128>> {
    let d = digits(value)?;
    if d.starts_with('-') {
        d.parse().ok().map(Ok)
    } else {
        d.parse().ok().map(Err)
    }
}

/// Whether `value` is a marker.
pub(crate) fn is_marker(value: &Value) -> bool {
    digits(value).is_some()
}

/// Turn a marker back into the number `serde_json::Value` would have held
/// (an `f64`), for a field that does not want an integer.
pub(crate) fn to_float(value: &mut Value) {
    if let Some(f) = digits(value).and_then(|d| d.parse::<f64>().ok()) {
        *value = serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number);
    }
}

/// `text` (a normalized payload) with every marker string replaced by its
/// integer literal again.
pub(crate) fn unmark(text: &str) -> String {
    let needle = format!("\"{PREFIX_JSON}");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&needle) {
        out.push_str(&rest[..at]);
        let after = &rest[at + needle.len()..];
        // The digits, then the closing quote (a marker holds nothing else).
        let end = after.find('"').unwrap_or(after.len());
        out.push_str(&after[..end]);
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_only_wide_integers_outside_strings_and_unmarks_them() {
        let json = r#"{"a": 340282366920938463463374607431768211455, "b": -170141183460469231731687303715884105728, "c": 18446744073709551615, "d": "99999999999999999999", "e": 1e40, "f": [123456789012345678901]}"#;
        let marked = mark(json).expect("marked");
        assert!(marked.contains(r#""c": 18446744073709551615"#));
        assert!(marked.contains(r#""d": "99999999999999999999""#));
        assert!(marked.contains(r#""e": 1e40"#));
        let value: Value = serde_json::from_str(&marked).unwrap();
        assert_eq!(exact(&value["a"]), Some(Err(u128::MAX)));
        assert_eq!(exact(&value["b"]), Some(Ok(i128::MIN)));
        assert_eq!(exact(&value["d"]), None);
        assert!(is_marker(&value["f"][0]));
        let back: Value = serde_json::from_str(&unmark(&value.to_string())).unwrap();
        let original: Value = serde_json::from_str(json).unwrap();
        assert_eq!(back, original);
        assert!(unmark(&value.to_string()).contains(":340282366920938463463374607431768211455"));
    }

    #[test]
    fn leaves_everything_else_alone() {
        for json in [
            r#"{"a": 1, "b": -5, "c": "x\"1234567890123456789012\""}"#,
            "012345678901234567890123",
            r#"{"note": "continuum-int:1", "n": 123456789012345678901}"#,
        ] {
            assert_eq!(mark(json), None, "{json}");
        }
    }

    #[test]
    fn whole_numbers_in_float_notation_are_integers() {
        assert_eq!(
            whole_digits("1e21").as_deref(),
            Some("1000000000000000000000")
        );
        assert_eq!(
            whole_digits("1.5E21").as_deref(),
            Some("1500000000000000000000")
        );
        assert_eq!(
            whole_digits("-2.0e20").as_deref(),
            Some("-200000000000000000000")
        );
        assert_eq!(
            whole_digits("100000000000000000000.000").as_deref(),
            Some("100000000000000000000")
        );
        assert_eq!(whole_digits("1.5"), None);
        assert_eq!(whole_digits("1e41"), None);
        assert_eq!(whole_digits("0.0"), None);
        assert_eq!(whole_digits("1e-3"), None);
        assert_eq!(whole_digits("1e999999999999999999999"), None);
        let marked = mark(r#"{"a": 1e21, "b": 1.5, "c": 2.0, "d": 1e300}"#).unwrap();
        assert_eq!(
            marked,
            r#"{"a": "\u0000continuum-int:1000000000000000000000", "b": 1.5, "c": 2.0, "d": 1e300}"#
        );
    }

    #[test]
    fn past_128_bits_is_no_exact_value() {
        let marked = mark("[1000000000000000000000000000000000000000000]").unwrap();
        let value: Value = serde_json::from_str(&marked).unwrap();
        assert_eq!(exact(&value[0]), None);
        let mut v = value[0].clone();
        to_float(&mut v);
        assert_eq!(v.as_f64(), Some(1e42));
    }
}
