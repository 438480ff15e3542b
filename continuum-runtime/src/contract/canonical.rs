//! The contract's one spelling: JSON with sorted keys, two-space indent and
//! a trailing newline, written by hand so the text never depends on how
//! `serde_json::Map` happens to be ordered in a given build (its
//! `preserve_order` feature is unified across a dependency graph, so two
//! binaries of one project could otherwise disagree). And FNV-1a, the short
//! hash of that text.

use serde_json::Value;

/// `value` as canonical JSON: object keys sorted by their UTF-8 bytes,
/// two-space indent, one member or item per line, a final newline.
pub(crate) fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write(&mut out, value, 0);
    out.push('\n');
    out
}

fn write(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push_str(": ");
                write(out, &map[key], depth + 1);
            }
            out.push('\n');
            indent(out, depth);
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write(out, item, depth + 1);
            }
            out.push('\n');
            indent(out, depth);
            out.push(']');
        }
        // Scalars, `{}` and `[]`: serde_json's compact form (numbers in
        // shortest round-trip form, strings escaped as JSON requires).
        other => out.push_str(&other.to_string()),
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// FNV-1a, 64 bits: tiny, stable everywhere, and plenty to tell two
/// contracts apart (it is an identifier, not a defence against forgery).
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_sorted_whatever_the_insertion_order() {
        let mut a = serde_json::Map::new();
        a.insert("b".into(), json!(1));
        a.insert("a".into(), json!([true, {}, [], "x\"y"]));
        let text = to_string(&Value::Object(a));
        assert_eq!(
            text,
            "{\n  \"a\": [\n    true,\n    {},\n    [],\n    \"x\\\"y\"\n  ],\n  \"b\": 1\n}\n"
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(to_string(&back), text);
    }

    #[test]
    fn fnv_reference_values() {
        // The published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }
}
