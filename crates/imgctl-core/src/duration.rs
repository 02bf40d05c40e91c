//! Durations as operators write them: `72h`, `30m`, `7d`, `1h30m`, `0s`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A whole number of seconds, written with `d`, `h`, `m` and `s` units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub u64);

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {why} (write it like 72h, 30m, 7d, 1h30m or 0s)")]
pub struct DurationError {
    input: String,
    why: &'static str,
}

const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];

impl Duration {
    /// Seconds in this duration.
    pub fn as_secs(self) -> u64 {
        self.0
    }

    /// As a chrono duration (saturating).
    pub fn to_chrono(self) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(i64::try_from(self.0).unwrap_or(i64::MAX / 1000))
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |why| DurationError { input: s.to_string(), why };
        if s.is_empty() {
            return Err(err("empty"));
        }
        let mut total: u64 = 0;
        let mut number = String::new();
        let mut last_unit = usize::MAX;
        for c in s.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let Some(rank) = UNITS.iter().position(|(u, _)| *u == c) else {
                return Err(err("unknown unit"));
            };
            if number.is_empty() {
                return Err(err("a unit without a number"));
            }
            if last_unit != usize::MAX && rank <= last_unit {
                return Err(err("units must go from largest to smallest, each once"));
            }
            last_unit = rank;
            let n: u64 = number.parse().map_err(|_| err("number too large"))?;
            total = n
                .checked_mul(UNITS[rank].1)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| err("too large"))?;
            number.clear();
        }
        if !number.is_empty() {
            return Err(err("a number without a unit"));
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (unit, secs) in UNITS {
            if rest >= secs {
                write!(f, "{}{unit}", rest / secs)?;
                rest %= secs;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$",
            "description": "A duration such as 72h, 30m, 7d, 1h30m or 0s."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!("72h".parse::<Duration>().unwrap().0, 72 * 3600);
        assert_eq!("30m".parse::<Duration>().unwrap().0, 1800);
        assert_eq!("7d".parse::<Duration>().unwrap().0, 7 * 86400);
        assert_eq!("1h30m".parse::<Duration>().unwrap().0, 5400);
        assert_eq!("0s".parse::<Duration>().unwrap().0, 0);
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["", "h", "10", "1x", "30m1h", "1h1h", "-1h", "99999999999999999999d"] {
            assert!(bad.parse::<Duration>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn display_round_trips(secs in 0u64..10_000_000_000) {
            let d = Duration(secs);
            prop_assert_eq!(d.to_string().parse::<Duration>().unwrap(), d);
        }

        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = s.parse::<Duration>();
        }
    }
}
