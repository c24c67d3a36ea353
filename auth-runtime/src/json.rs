//! Strict JSON reading, shared by the JOSE header ([`crate::verify`]) and the claims
//! ([`crate::claims`]): member names compared without allocating, a repeated member name
//! refused at any depth, and the one NumericDate rule for `exp`, `nbf` and `iat`.

use std::borrow::Cow;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use smallvec::SmallVec;

/// Whether a JSON document names a member twice in one object, at any depth. RFC 7515 §4 and
/// RFC 7519 §4 let parsers either refuse duplicates or keep the last one; refusing leaves no
/// room for a gateway that reads the first `scope` and this service the last one to disagree.
/// A separate pass (not a custom `Value` builder) so that serde_json features such as
/// `arbitrary_precision` cannot change what the claims look like; serde_json's recursion
/// limit bounds the depth.
pub(crate) fn has_duplicate_members(json: &[u8]) -> bool {
    serde_json::from_slice::<NoDuplicates>(json).is_err()
}

/// Any JSON value in which no object names a member twice.
pub(crate) struct NoDuplicates;

impl<'de> Deserialize<'de> for NoDuplicates {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NoDuplicatesVisitor)
    }
}

struct NoDuplicatesVisitor;

impl<'de> Visitor<'de> for NoDuplicatesVisitor {
    type Value = NoDuplicates;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON without duplicate member names")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_unit<E: de::Error>(self) -> Result<NoDuplicates, E> {
        Ok(NoDuplicates)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NoDuplicates, A::Error> {
        while seq.next_element::<NoDuplicates>()?.is_some() {}
        Ok(NoDuplicates)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NoDuplicates, A::Error> {
        // Names are borrowed from the input unless they contain escapes. Objects are small:
        // comparing or sorting their names costs less than hashing each one.
        let mut names = Names::new();
        while let Some(name) = map.next_key::<MemberName<'de>>()? {
            names.push(name);
            map.next_value::<NoDuplicates>()?;
        }
        unique(&mut names)?;
        Ok(NoDuplicates)
    }
}

/// Refuses a repeated member name.
pub(crate) fn unique<E: de::Error>(names: &mut [MemberName<'_>]) -> Result<(), E> {
    // A token names a dozen members or so: comparing each with those before it is cheaper
    // than sorting them; longer lists are sorted.
    let duplicate = if names.len() <= NAMES_INLINE {
        (1..names.len()).any(|i| names[..i].contains(&names[i]))
    } else {
        names.sort_unstable();
        names.windows(2).any(|pair| pair[0] == pair[1])
    };
    if duplicate {
        return Err(E::custom("duplicate member name"));
    }
    Ok(())
}

/// Member names collected before [`unique`] sorts instead of comparing pairwise; also how
/// many [`Names`] holds on the stack, so that a typical header or claim set allocates nothing.
pub(crate) const NAMES_INLINE: usize = 16;

/// The member names of one JSON object, on the stack up to [`NAMES_INLINE`].
pub(crate) type Names<'de> = SmallVec<[MemberName<'de>; NAMES_INLINE]>;

/// A member name as the JSON text spells it after unescaping, borrowed when it has no escapes.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct MemberName<'de>(Cow<'de, str>);

impl MemberName<'_> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for MemberName<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl<'de> Visitor<'de> for NameVisitor {
            type Value = MemberName<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MemberName(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MemberName(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// An RFC 7519 NumericDate (`exp`, `nbf`, `iat`: every time claim is read here, by one rule):
/// a non-negative integer below 2^64, or a finite non-negative number below 2^64 rounded to
/// the nearest second (halves away from zero), as jsonwebtoken reads it. Anything else,
/// `null` included, is `None`. One rule matters: a claim read twice, truncated once and
/// rounded once, would be checked against one time and reported as another.
pub(crate) fn numeric_date(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_f64().and_then(rounded_seconds))
}

/// A fractional NumericDate as whole seconds. serde_json holds no NaN or infinity today; the
/// check keeps `as u64` from saturating them into a time should that ever change.
fn rounded_seconds(f: f64) -> Option<u64> {
    (f.is_finite() && f >= 0.0 && f < u64::MAX as f64).then(|| f.round() as u64)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn numeric_dates_are_whole_or_rounded_seconds() {
        let date = |v: Value| numeric_date(&v);
        assert_eq!(date(json!(0)), Some(0));
        assert_eq!(date(json!(1_700_000_000)), Some(1_700_000_000));
        assert_eq!(date(json!(u64::MAX)), Some(u64::MAX));
        assert_eq!(date(json!(1000.4)), Some(1000));
        assert_eq!(date(json!(1000.5)), Some(1001));
        assert_eq!(date(json!(1000.6)), Some(1001));
        assert_eq!(date(json!(-0.0)), Some(0));
    }

    #[test]
    fn numeric_dates_refuse_negative_huge_and_non_numbers() {
        for bad in [
            json!(-1),
            json!(-0.4),
            json!(2e19),
            json!(1e308),
            json!(-1e308),
            json!("1700000000"),
            json!([1_700_000_000]),
            json!(true),
            json!(null),
        ] {
            assert_eq!(numeric_date(&bad), None, "{bad}");
        }
        // Not representable in a serde_json Value; refused rather than saturated.
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, u64::MAX as f64] {
            assert_eq!(rounded_seconds(bad), None, "{bad}");
        }
    }
}
