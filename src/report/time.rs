//! A UTC timestamp that serialises as RFC 3339 with milliseconds, the one format used in
//! reports and the journal (sortable as text, readable by people and by PostgreSQL).

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// Now, to the millisecond: what is stored must equal what is read back.
    pub fn now() -> Timestamp {
        Timestamp(Utc::now().trunc_subsecs(3))
    }

    /// Parses what [`Display`](fmt::Display) wrote (any RFC 3339 is accepted).
    pub fn parse(text: &str) -> Option<Timestamp> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| Timestamp(t.with_timezone(&Utc)))
    }

    /// Milliseconds from `self` to `later` (0 when `later` is earlier).
    pub fn millis_until(self, later: Timestamp) -> u64 {
        u64::try_from((later.0 - self.0).num_milliseconds()).unwrap_or(0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Timestamp::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text_and_json() {
        let t = Timestamp::parse("2026-11-30T07:01:02.345Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-30T07:01:02.345Z");
        let j = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Timestamp>(&j).unwrap(), t);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
        let later = Timestamp::parse("2026-11-30T07:01:03Z").unwrap();
        assert_eq!(t.millis_until(later), 655);
        assert_eq!(later.millis_until(t), 0);
        let now = Timestamp::now();
        assert_eq!(Timestamp::parse(&now.to_string()), Some(now));
    }
}
