//! [`Attrs`]: an item's attributes, in order, in a vector.
//!
//! Items have a few dozen attributes at most, and the trend-scorer builds two to five of them for
//! every stream record. `serde_json::Map` (an `IndexMap` with SipHash, under the `preserve_order`
//! feature the workspace needs) hashed every name it was given, several times an insert, and
//! allocated every name: about 10 k instructions of a record's 190 k (docs/signals.md §8). A vector
//! searched from the front does neither, and the names the code writes are `&'static str`.
//!
//! It keeps `serde_json::Map`'s behaviour where the stores and the tests can see it: the order of
//! insertion, [`Attrs::remove`] moving the last attribute into the removed one's place (so the local
//! store's JSON text and DynamoDB's attribute order are what they were), equality regardless of order,
//! a later value of a name replacing the earlier one in its place.

use std::borrow::Cow;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// An attribute's name: the code's own names are not copied.
pub type Name = Cow<'static, str>;

/// See the module docs.
#[derive(Clone, Default)]
pub struct Attrs(Vec<(Name, Value)>);

impl Attrs {
    pub fn new() -> Self {
        Attrs(Vec::new())
    }

    pub fn with_capacity(n: usize) -> Self {
        Attrs(Vec::with_capacity(n))
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|(k, _)| k == name)
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.0.iter_mut().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Sets `name` to `value`: in its place when it is there (the value it had is returned), else at
    /// the end.
    pub fn insert(&mut self, name: impl Into<Name>, value: Value) -> Option<Value> {
        let name = name.into();
        match self.position(&name) {
            Some(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            None => {
                self.0.push((name, value));
                None
            }
        }
    }

    /// Appends an attribute the caller knows is not there yet (the item builders, which write each
    /// name once); in debug builds that is checked.
    pub fn push(&mut self, name: &'static str, value: Value) {
        debug_assert!(!self.contains_key(name), "attribute {name} written twice");
        self.0.push((Cow::Borrowed(name), value));
    }

    /// Removes `name`, moving the last attribute into its place (as `serde_json::Map::remove` does
    /// with `preserve_order`).
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.position(name).map(|i| self.0.swap_remove(i).1)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> + '_ {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.0.iter().map(|(k, _)| k.as_ref())
    }

    /// The attributes as a JSON object, in their order.
    pub fn into_map(self) -> Map<String, Value> {
        self.0.into_iter().map(|(k, v)| (k.into_owned(), v)).collect()
    }
}

impl PartialEq for Attrs {
    /// The same names with equal values, in any order (as `serde_json::Map`'s equality).
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl fmt::Debug for Attrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl std::ops::Index<&str> for Attrs {
    type Output = Value;

    /// The attribute's value; panics when there is none (tests; code uses [`Attrs::get`]).
    fn index(&self, name: &str) -> &Value {
        match self.get(name) {
            Some(v) => v,
            None => panic!("no attribute {name}"),
        }
    }
}

impl From<Map<String, Value>> for Attrs {
    fn from(m: Map<String, Value>) -> Self {
        Attrs(m.into_iter().map(|(k, v)| (Cow::Owned(k), v)).collect())
    }
}

impl From<Attrs> for Value {
    fn from(a: Attrs) -> Self {
        Value::Object(a.into_map())
    }
}

impl<N: Into<Name>> FromIterator<(N, Value)> for Attrs {
    fn from_iter<I: IntoIterator<Item = (N, Value)>>(iter: I) -> Self {
        let mut a = Attrs::new();
        for (k, v) in iter {
            a.insert(k, v);
        }
        a
    }
}

impl<'a> IntoIterator for &'a Attrs {
    type Item = (&'a str, &'a Value);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (Name, Value)>, fn(&'a (Name, Value)) -> (&'a str, &'a Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl Serialize for Attrs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.len()))?;
        for (k, v) in self {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Attrs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Attrs;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of attributes")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attrs, A::Error> {
                let mut a = Attrs::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    a.insert(k, v);
                }
                Ok(a)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// A script of inserts and removes, applied to both maps.
    #[derive(Debug, Clone)]
    enum Op {
        Insert(String, i64),
        Remove(String),
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        let name = "[a-e]{1,2}";
        proptest::collection::vec(
            prop_oneof![
                3 => (name, any::<i64>()).prop_map(|(k, v)| Op::Insert(k, v)),
                1 => name.prop_map(Op::Remove),
            ],
            0..40,
        )
    }

    proptest! {
        /// Whatever is inserted and removed, the attributes are serde_json's `Map`'s, in its order:
        /// the same JSON text, the same answers, equal both ways.
        #[test]
        fn behaves_as_serde_jsons_map(script in ops()) {
            let (mut a, mut m) = (Attrs::new(), Map::new());
            for op in script {
                match op {
                    Op::Insert(k, v) => prop_assert_eq!(a.insert(k.clone(), json!(v)), m.insert(k, json!(v))),
                    Op::Remove(k) => prop_assert_eq!(a.remove(&k), m.remove(&k)),
                }
                prop_assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&m).unwrap());
            }
            prop_assert_eq!(a.len(), m.len());
            for k in ["a", "b", "zz"] {
                prop_assert_eq!(a.get(k), m.get(k));
                prop_assert_eq!(a.contains_key(k), m.contains_key(k));
            }
            let text = serde_json::to_string(&m).unwrap();
            let read: Attrs = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&read, &a);
            prop_assert_eq!(Attrs::from(m.clone()), a.clone());
            prop_assert_eq!(a.into_map(), m);
        }
    }

    #[test]
    fn equality_ignores_order_but_not_values() {
        let a: Attrs = [("x", json!(1)), ("y", json!(2))].into_iter().collect();
        let b: Attrs = [("y", json!(2)), ("x", json!(1))].into_iter().collect();
        let c: Attrs = [("y", json!(3)), ("x", json!(1))].into_iter().collect();
        let d: Attrs = [("x", json!(1))].into_iter().collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        assert_ne!(d, a);
    }

    #[test]
    fn a_name_read_twice_keeps_its_place_and_the_last_value() {
        let a: Attrs = serde_json::from_str(r#"{"x":1,"y":2,"x":3}"#).unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"{"x":3,"y":2}"#);
        assert!(serde_json::from_str::<Attrs>("[1]").is_err());
    }
}
