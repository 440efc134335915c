//! The top-level keys of agent.yaml, read from `AgentConfig`'s own
//! `Deserialize`: serde's derive hands a struct's field names to
//! `deserialize_struct`, so this list cannot drift from the struct.
//! `mfactl check` tells an agent.yaml from a policy bundle with it.

use serde::de::{self, Deserialize, Visitor};

use super::AgentConfig;

/// Every top-level key agent.yaml accepts (`node`, `cluster`, ...,
/// `attached_keys`, `approval_url`).
pub fn agent_config_keys() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    // The probe always ends in an error: only the names are wanted.
    let _ = AgentConfig::deserialize(FieldProbe(&mut fields));
    fields
}

/// A deserializer that records the field names a struct asks for, and
/// gives no value.
struct FieldProbe<'a>(&'a mut &'static [&'static str]);

impl<'de> de::Deserializer<'de> for FieldProbe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only a struct's field names are read"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("field names read"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_the_agent_accepts_is_listed_and_nothing_else() {
        let keys = agent_config_keys();
        for k in ["node", "cluster", "socket", "attached_keys", "approval_url"] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
        // Each listed key is one the parser knows (its error, for a value of
        // the wrong shape, is never "unknown field")...
        for k in keys {
            let e = AgentConfig::parse(&format!("{k}: [[[]]]\n"), "t").unwrap_err();
            assert!(!e.message.contains("unknown field"), "{k}: {e}");
        }
        // ...and a key outside the list is refused as unknown, naming the
        // same list.
        let e = AgentConfig::parse("nonsense: 1\n", "t").unwrap_err();
        assert!(e.message.contains("unknown field"), "{e}");
        for k in keys {
            assert!(e.message.contains(k), "{k} not in: {e}");
        }
    }
}
