//! How `#[continuum_event]` reads an event's fields from JSON text without a
//! serde `Deserialize` instantiation per event (bench/compile-cost): one
//! shared pass splits the payload into its fields' raw JSON, by the wire
//! names of the event's [`StructSchema`], then each field is deserialized
//! from its own text as its type (code shared by every event with a field
//! of that type).
//!
//! Generated code uses it only for events whose fields serde reads plainly
//! (no `default`, `skip`, `alias`, `with`, …); the result is what serde's
//! derive gives for the same text, field for field: missing fields as
//! serde's `missing_field` treats them (`None` for an `Option`, an error
//! otherwise), unknown fields rejected or ignored as the schema says, a
//! repeated key taken at its last value (serde refuses it, and decoding then
//! takes the normalized payload, which keeps the last value too), and a JSON
//! array read positionally, as serde reads a struct from a sequence.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::Payload;
use crate::schema::StructSchema;

/// The fields of one payload, as raw JSON, in the order of its schema.
pub struct Fields<'a> {
    schema: &'static StructSchema,
    values: Vec<Option<&'a RawValue>>,
    /// Read from a JSON array: a missing element is an error, as serde
    /// reports one for a short sequence.
    seq: bool,
    /// The first field that did not deserialize.
    error: Option<serde_json::Error>,
}

impl<'a> Fields<'a> {
    /// Split `json` (an object, or an array read positionally) into the
    /// fields of `schema`.
    ///
    /// # Errors
    ///
    /// Invalid JSON, a value that is neither an object nor an array, an
    /// unknown field when the schema denies them, too many array elements.
    pub fn parse(json: &'a str, schema: &'static StructSchema) -> serde_json::Result<Self> {
        let mut de = serde_json::Deserializer::from_str(json);
        let (values, seq) = de.deserialize_any(Split { schema })?;
        de.end()?;
        Ok(Fields {
            schema,
            values,
            seq,
            error: None,
        })
    }

    /// Read field `i` as `T`: through `Payload::__deserialize` when `via`
    /// (a field generated serde code reads with `deserialize_with`), else
    /// through `Deserialize`; when missing and `default` (an `Option` given
    /// `#[serde(default)]`), `None`. `None` when it does not deserialize, or
    /// is missing and not an `Option`; [`Fields::error`] then says why.
    pub fn take<T: Payload>(&mut self, i: usize, via: bool, default: bool) -> Option<T> {
        match self.read(i, via, default) {
            Ok(value) => Some(value),
            Err(e) => {
                self.error.get_or_insert(e);
                None
            }
        }
    }

    fn read<T: Payload>(&mut self, i: usize, via: bool, default: bool) -> serde_json::Result<T> {
        let name = self.schema.fields[i].name;
        match self.values[i].take() {
            Some(raw) => {
                let mut de = serde_json::Deserializer::from_str(raw.get());
                let value = if via {
                    T::__deserialize(&mut de)?
                } else {
                    T::deserialize(&mut de)?
                };
                de.end()?;
                Ok(value)
            }
            // `default` is only ever set for an `Option`: `None`.
            None if default => T::deserialize(Missing(name)),
            None if self.seq => Err(de::Error::invalid_length(i, &ShortSeq(self.schema))),
            // serde's `deserialize_with` has no `missing_field` fallback.
            None if via => Err(de::Error::missing_field(name)),
            None => T::deserialize(Missing(name)),
        }
    }

    /// Why a [`Fields::take`] gave `None` (the first field that failed).
    pub fn error(self) -> serde_json::Error {
        self.error
            .unwrap_or_else(|| de::Error::custom("a field did not deserialize"))
    }
}

impl fmt::Debug for Fields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fields")
            .field("payload", &self.schema.rust_name)
            .field("values", &self.values)
            .finish()
    }
}

struct ShortSeq(&'static StructSchema);

impl de::Expected for ShortSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "struct {} with {} elements",
            self.0.rust_name,
            self.0.fields.len()
        )
    }
}

/// serde's `missing_field`: an `Option` is `None`, anything else an error.
struct Missing(&'static str);

impl<'de> Deserializer<'de> for Missing {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> serde_json::Result<V::Value> {
        Err(de::Error::missing_field(self.0))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> serde_json::Result<V::Value> {
        visitor.visit_none()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// The top-level pass: each field's raw JSON by schema position.
struct Split {
    schema: &'static StructSchema,
}

/// The fields' raw values, and whether they came from an array.
type Raw<'a> = (Vec<Option<&'a RawValue>>, bool);

impl<'de> Visitor<'de> for Split {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "struct {}", self.schema.rust_name)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let fields = self.schema.fields;
        let mut values = vec![None; fields.len()];
        while let Some(key) = map.next_key_seed(Key)? {
            match fields.iter().position(|f| f.name == key) {
                Some(i) => values[i] = Some(map.next_value::<&'de RawValue>()?),
                None if self.schema.deny_unknown_fields => {
                    return Err(de::Error::custom(UnknownField(&key, self.schema)));
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((values, false))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let n = self.schema.fields.len();
        let mut values = Vec::with_capacity(n);
        while let Some(v) = seq.next_element::<&'de RawValue>()? {
            if values.len() == n {
                return Err(de::Error::invalid_length(n + 1, &ShortSeq(self.schema)));
            }
            values.push(Some(v));
        }
        values.resize(n, None);
        Ok((values, true))
    }
}

/// serde's `unknown_field` message, word for word.
struct UnknownField<'a>(&'a str, &'static StructSchema);

impl fmt::Display for UnknownField<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown field `{}`, ", self.0)?;
        match self.1.fields {
            [] => f.write_str("there are no fields"),
            [a] => write!(f, "expected `{}`", a.name),
            [a, b] => write!(f, "expected `{}` or `{}`", a.name, b.name),
            fields => {
                f.write_str("expected one of ")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{}`", field.name)?;
                }
                Ok(())
            }
        }
    }
}

/// A key, borrowed from the text unless it has escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}
