//! Spec fields kept as the text a person wrote and parsed once when the object is read: they
//! serialize as that text, read from any string (never failing the object's read) and have a
//! plain string schema, so the CRD's CEL rules and messages stay in charge of admission.

/// Implements Serialize, Deserialize (through `From<String>`) and a string JsonSchema for `$ty`,
/// whose `raw()` returns the text.
macro_rules! spec_text {
    ($ty:ident) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.raw())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <String as serde::Deserialize>::deserialize(deserializer).map(Self::from)
            }
        }

        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string" })
            }
        }
    };
}

pub(crate) use spec_text;
