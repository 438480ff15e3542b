//! The definitions table the JSON Schema and TypeScript exports share: each
//! struct or enum a payload names becomes one named definition (`$defs` in
//! JSON Schema, an `export` in TypeScript). A type is identified by the
//! address of its static description; two different types with one Rust name
//! (in different modules) get `Name2`, `Name3`, …; and a type's name is
//! reserved before its body is built, so a recursive type refers to itself
//! instead of building forever.

/// Definitions in the order they were first named, each with its body `T`.
pub(crate) struct Defs<T> {
    entries: Vec<Entry<T>>,
}

struct Entry<T> {
    /// Identity of the `StructSchema`/`EnumSchema`/`TaggedSchema` static.
    addr: usize,
    name: String,
    body: T,
}

impl<T> Default for Defs<T> {
    fn default() -> Self {
        Defs {
            entries: Vec::new(),
        }
    }
}

impl<T: Default> Defs<T> {
    /// The name of the definition for the static at `addr`: `Ok` with a new,
    /// unique name when the type is seen first (build its body, then
    /// [`set`](Self::set) it), `Err` with the name it already has.
    pub(crate) fn reserve(&mut self, addr: usize, rust_name: &str) -> Result<String, String> {
        if let Some(e) = self.entries.iter().find(|e| e.addr == addr) {
            return Err(e.name.clone());
        }
        let mut name = rust_name.to_owned();
        let mut n = 1;
        while self.entries.iter().any(|e| e.name == name) {
            n += 1;
            name = format!("{rust_name}{n}");
        }
        self.entries.push(Entry {
            addr,
            name: name.clone(),
            body: T::default(),
        });
        Ok(name)
    }

    /// The body of the definition reserved for `addr`.
    pub(crate) fn set(&mut self, addr: usize, body: T) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.addr == addr) {
            e.body = body;
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every definition's name and body, in the order they were named.
    pub(crate) fn into_iter(self) -> impl Iterator<Item = (String, T)> {
        self.entries.into_iter().map(|e| (e.name, e.body))
    }

    /// Every definition's body, in the order they were named.
    pub(crate) fn bodies(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|e| &e.body)
    }
}

/// The identity of a static schema description.
pub(crate) fn addr<T>(schema: &'static T) -> usize {
    std::ptr::from_ref(schema) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clash_is_suffixed_and_a_known_type_keeps_its_name() {
        let mut defs = Defs::<String>::default();
        assert_eq!(defs.reserve(1, "Stage"), Ok("Stage".to_owned()));
        assert_eq!(defs.reserve(2, "Stage"), Ok("Stage2".to_owned()));
        assert_eq!(defs.reserve(1, "Stage"), Err("Stage".to_owned()));
        defs.set(2, "second".into());
        let all: Vec<_> = defs.into_iter().collect();
        assert_eq!(
            all,
            [
                ("Stage".into(), String::new()),
                ("Stage2".into(), "second".into())
            ]
        );
    }
}
