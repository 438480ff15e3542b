//! [`Payload`] for the standard types an event field can have.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use crate::event::Payload;
use crate::schema::TypeSchema;
use crate::validate::{Checker, IssueCode};

impl Payload for String {
    fn check(&self, _: &mut Checker) {}
    fn describe() -> TypeSchema {
        TypeSchema::String
    }
}

impl Payload for bool {
    fn check(&self, _: &mut Checker) {}
    fn describe() -> TypeSchema {
        TypeSchema::Bool
    }
}

macro_rules! ints {
    ($($t:ty)*) => {$(
        impl Payload for $t {
            fn check(&self, _: &mut Checker) {}
            #[allow(clippy::cast_lossless, clippy::cast_sign_loss, trivial_numeric_casts)]
            fn describe() -> TypeSchema {
                TypeSchema::Integer { min: <$t>::MIN as i128, max: <$t>::MAX as u128 }
            }
        }
    )*};
}
ints!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize);

macro_rules! floats {
    ($($t:ident: $f32:literal),*) => {$(
        impl Payload for $t {
            /// JSON has no NaN or infinity (serde_json writes them as `null`),
            /// so a non-finite float cannot be sent faithfully.
            fn check(&self, cx: &mut Checker) {
                if !self.is_finite() {
                    cx.report(IssueCode::Type, "must be a finite number");
                }
            }
            fn describe() -> TypeSchema {
                TypeSchema::Float { f32: $f32 }
            }
        }
    )*};
}
floats!(f32: true, f64: false);

impl Payload for serde_json::Value {
    fn check(&self, _: &mut Checker) {}
    fn describe() -> TypeSchema {
        TypeSchema::Any
    }
}

impl<T: Payload> Payload for Option<T> {
    fn check(&self, cx: &mut Checker) {
        if let Some(v) = self {
            v.check(cx);
        }
    }
    fn describe() -> TypeSchema {
        TypeSchema::Option(T::describe)
    }
}

impl<T: Payload> Payload for Box<T> {
    fn check(&self, cx: &mut Checker) {
        (**self).check(cx);
    }
    fn describe() -> TypeSchema {
        T::describe()
    }
}

impl<T: Payload> Payload for Vec<T> {
    fn check(&self, cx: &mut Checker) {
        for (i, item) in self.iter().enumerate() {
            cx.enter_index(i);
            item.check(cx);
            cx.leave();
        }
    }
    fn describe() -> TypeSchema {
        TypeSchema::Array(T::describe)
    }
}

impl<T: Payload, S: BuildHasher> Payload for HashMap<String, T, S> {
    fn check(&self, cx: &mut Checker) {
        for (k, v) in self {
            cx.enter_key(k);
            v.check(cx);
            cx.leave();
        }
    }
    fn describe() -> TypeSchema {
        TypeSchema::Map(T::describe)
    }
}

impl<T: Payload> Payload for BTreeMap<String, T> {
    fn check(&self, cx: &mut Checker) {
        for (k, v) in self {
            cx.enter_key(k);
            v.check(cx);
            cx.leave();
        }
    }
    fn describe() -> TypeSchema {
        TypeSchema::Map(T::describe)
    }
}
