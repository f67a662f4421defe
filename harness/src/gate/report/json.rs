//! The JSON verdict file: the whole comparison (settings, per case and
//! metric the values, change, interval and verdict) for other tools.

use super::Exporter;
use crate::gate::comparison::Comparison;

pub struct Json;

/// Version of the verdict file's layout.
pub const FORMAT: &str = "inferbench-verdict/1";

impl Exporter for Json {
    fn render(&self, c: &Comparison) -> String {
        let mut value = serde_json::to_value(c).expect("plain data is JSON");
        if let serde_json::Value::Object(map) = &mut value {
            map.insert("format".into(), FORMAT.into());
        }
        let mut text = serde_json::to_string_pretty(&value).expect("plain data is JSON");
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::report::fixture::comparison;

    #[test]
    fn snapshot_of_the_fields_tools_read() {
        let v: serde_json::Value = serde_json::from_str(&Json.render(&comparison())).unwrap();
        assert_eq!(v["format"], "inferbench-verdict/1");
        assert_eq!(v["verdict"], "regressed");
        assert_eq!(v["regressions"], 1);
        let case = &v["cases"][0];
        assert_eq!(case["id"], "gpt/candle/cpu/f32/b1/t16/th1");
        assert_eq!(case["outcome"], "regressed");
        assert_eq!(
            case["metrics"][1],
            serde_json::json!({
                "metric": "latency_p50", "base": 1.0, "candidate": 1.052,
                "change": 5.2, "interval": [4.1, 6.3], "threshold": 3.0,
                "verdict": "regressed"
            })
        );
        assert_eq!(case["metrics"][4]["interval"], serde_json::Value::Null);
        assert_eq!(v["cases"][2]["outcome"], "only_in_candidate");
        assert_eq!(
            v["settings"]["thresholds"][1],
            serde_json::json!(["latency_p50", 3.0])
        );
        assert_eq!(v["candidate"]["git_commit"], "2222222bbbb");
    }
}
