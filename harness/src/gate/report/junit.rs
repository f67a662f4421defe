//! JUnit XML, so CI systems (GitHub via test-reporter actions, GitLab,
//! Jenkins) show each case as a test: regressed → failure, one-sided or
//! not compared → skipped. Schema: the Ant JUnit report format as read by
//! Jenkins' junit plugin (testsuites/testsuite/testcase/failure|skipped).

use super::{Exporter, findings};
use crate::gate::comparison::{CaseOutcome, Comparison};

pub struct JUnit;

/// XML text and attribute escaping (the five predefined entities).
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

impl Exporter for JUnit {
    fn render(&self, c: &Comparison) -> String {
        let failures = c.count(CaseOutcome::Regressed);
        let skipped = c.count(CaseOutcome::OnlyInBase)
            + c.count(CaseOutcome::OnlyInCandidate)
            + c.count(CaseOutcome::NotCompared);
        let suite = format!("inferbench.{}", c.candidate.scenario);
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str(&format!(
            "<testsuites name=\"inferbench regression gate\" tests=\"{n}\" failures=\"{failures}\" skipped=\"{skipped}\">\n  <testsuite name=\"{s}\" tests=\"{n}\" failures=\"{failures}\" skipped=\"{skipped}\">\n",
            n = c.cases.len(),
            s = xml(&suite),
        ));
        for case in &c.cases {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\">\n",
                xml(&suite),
                xml(&case.id)
            ));
            let mut details = findings(&case.metrics);
            details.extend(case.note.clone());
            let text = xml(&details.join("\n"));
            match case.outcome {
                CaseOutcome::Regressed => out.push_str(&format!(
                    "      <failure message=\"regressed\" type=\"regression\">{text}</failure>\n"
                )),
                CaseOutcome::OnlyInBase
                | CaseOutcome::OnlyInCandidate
                | CaseOutcome::NotCompared
                | CaseOutcome::Inconclusive => out.push_str(&format!(
                    "      <skipped message=\"{}\"/>\n",
                    xml(&format!(
                        "{}: {}",
                        case.outcome.as_str(),
                        case.note.as_deref().unwrap_or("")
                    ))
                )),
                CaseOutcome::Improved | CaseOutcome::Unchanged => {
                    if !text.is_empty() {
                        out.push_str(&format!("      <system-out>{text}</system-out>\n"));
                    }
                }
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gate::report::fixture::comparison;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(JUnit.render(&comparison()));
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(xml("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
