//! `[monitor]`: how often `inferbench monitor` probes a group's cases,
//! merged key by key over the top level's and checked.

use super::{Invalid, check};
use crate::scenario::{MonitorCase, MonitorConfig};

/// The group's `[monitor]`, or `None` when neither it nor the top level has
/// one (the monitor then probes with [`MonitorCase::default`]).
pub(super) fn monitor(
    over: Option<&MonitorConfig>,
    base: Option<&MonitorConfig>,
    group: Option<usize>,
) -> Result<Option<MonitorCase>, Invalid> {
    if over.is_none() && base.is_none() {
        return Ok(None);
    }
    let (o, b) = (
        over.copied().unwrap_or_default(),
        base.copied().unwrap_or_default(),
    );
    // A group's own `interval_s` or `rate` replaces both of the top level's.
    let (interval_s, rate) = match (o.interval_s, o.rate) {
        (None, None) => (b.interval_s, b.rate),
        own => own,
    };
    check(
        group,
        "monitor.rate",
        interval_s.is_none() || rate.is_none(),
        || "give `interval_s` or `rate`, not both (rate = 1 / interval_s)".into(),
    )?;
    let positive = |v: Option<f64>| v.is_none_or(|v| v.is_finite() && v > 0.0);
    check(group, "monitor.interval_s", positive(interval_s), || {
        "`interval_s` must be a positive number of seconds".into()
    })?;
    check(group, "monitor.rate", positive(rate), || {
        "`rate` must be a positive number of probes per second".into()
    })?;
    let defaults = MonitorCase::default();
    let jitter = o.jitter.or(b.jitter).unwrap_or(defaults.jitter);
    check(
        group,
        "monitor.jitter",
        (0.0..1.0).contains(&jitter),
        || "`jitter` is a fraction of the interval: at least 0 and below 1".into(),
    )?;
    let max_in_flight = o
        .max_in_flight
        .or(b.max_in_flight)
        .unwrap_or(defaults.max_in_flight);
    check(group, "monitor.max_in_flight", max_in_flight > 0, || {
        "`max_in_flight` must be at least 1".into()
    })?;
    Ok(Some(MonitorCase {
        interval_s: rate.map_or(interval_s.unwrap_or(defaults.interval_s), |r| 1.0 / r),
        jitter,
        max_in_flight,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(interval_s: Option<f64>, rate: Option<f64>) -> MonitorConfig {
        MonitorConfig {
            interval_s,
            rate,
            ..MonitorConfig::default()
        }
    }

    #[test]
    fn rate_and_interval_are_one_setting_merged_per_group() {
        assert_eq!(monitor(None, None, None).unwrap(), None);
        let top = config(Some(2.0), None);
        let m = monitor(None, Some(&top), None).unwrap().unwrap();
        assert_eq!((m.interval_s, m.jitter, m.max_in_flight), (2.0, 0.1, 64));
        // A group's `rate` replaces the top level's `interval_s`.
        let m = monitor(Some(&config(None, Some(4.0))), Some(&top), Some(0))
            .unwrap()
            .unwrap();
        assert_eq!(m.interval_s, 0.25);
        let both = config(Some(1.0), Some(1.0));
        let e = monitor(Some(&both), None, Some(1)).unwrap_err();
        assert_eq!((e.key.as_str(), e.group), ("monitor.rate", Some(1)));
    }

    #[test]
    fn out_of_range_values_name_their_key() {
        let e = monitor(Some(&config(Some(0.0), None)), None, None).unwrap_err();
        assert_eq!(e.key, "monitor.interval_s");
        let e = monitor(Some(&config(None, Some(f64::INFINITY))), None, None).unwrap_err();
        assert_eq!(e.key, "monitor.rate");
        let jittery = MonitorConfig {
            jitter: Some(1.0),
            ..MonitorConfig::default()
        };
        assert_eq!(
            monitor(Some(&jittery), None, None).unwrap_err().key,
            "monitor.jitter"
        );
        let none_in_flight = MonitorConfig {
            max_in_flight: Some(0),
            ..MonitorConfig::default()
        };
        let e = monitor(Some(&none_in_flight), None, None).unwrap_err();
        assert_eq!(e.key, "monitor.max_in_flight");
    }
}
