//! A key of an AIPerf config that sweep-plan refuses, refused from inside the value's
//! deserialization so that the error carries the file's line (serde_yaml_ng and serde_json both
//! report it).

use serde::de::{Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

/// Refuses a key's value with `msg`, from inside the value's deserialization so that the error
/// carries the value's line (a bool equal to `accept` is taken instead).
pub(super) struct Refuse {
    pub(super) msg: &'static str,
    pub(super) accept: Option<bool>,
}

impl<'de> Visitor<'de> for Refuse {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.msg)
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Option<bool>, E> {
        match self.accept == Some(v) {
            true => Ok(Some(v)),
            false => Err(E::custom(self.msg)),
        }
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Option<bool>, E> {
        Err(E::custom(self.msg))
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Option<bool>, E> {
        Err(E::custom(self.msg))
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Option<bool>, E> {
        Err(E::custom(self.msg))
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Option<bool>, E> {
        Err(E::custom(self.msg))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<bool>, E> {
        Err(E::custom(self.msg))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Option<bool>, A::Error> {
        Err(A::Error::custom(self.msg))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Option<bool>, A::Error> {
        Err(A::Error::custom(self.msg))
    }
}

/// Deserializes a key sweep-plan refuses whatever its value.
pub(super) fn refuse<'de, D: Deserializer<'de>>(d: D, msg: &'static str) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(Refuse { msg, accept: None })
}
