//! Bad Sigma input is reported with file, rule id, line, column and what is
//! wrong; good input compiles through the language registry.

use hindsight_replay::lang::{self, SourceFile};
use hindsight_replay::sigma;

const RULE: &str = "title: Test rule
id: 5f0e1a3c-0000-4000-8000-000000000001
status: test
level: high
tags:
    - attack.execution
    - attack.t1059.004
logsource:
    product: linux
    category: process_creation
detection:
    selection:
        Image|endswith: '/bash'
        CommandLine|contains: ' -c '
    filter:
        ParentImage: '/usr/sbin/cron'
    condition: selection and not filter
";

fn err(text: &str) -> String {
    sigma::load_str("rules/bad.yml", text)
        .unwrap_err()
        .to_string()
}

#[test]
fn malformed_yaml() {
    let e = err("title: x\ndetection: [a, b\nlogsource: {}\n");
    assert!(e.starts_with("rules/bad.yml:"), "{e}");
    assert!(e.contains("malformed YAML"), "{e}");
}

#[test]
fn unknown_modifier_points_at_it() {
    let e = err(&RULE.replace("Image|endswith", "Image|endwith"));
    assert_eq!(
        e,
        "rules/bad.yml:13:15: rule 5f0e1a3c-0000-4000-8000-000000000001: search `selection`: \
         unknown modifier `endwith` on field `Image` (did you mean `endswith`?)"
    );
}

#[test]
fn condition_naming_a_missing_selection() {
    let e = err(&RULE.replace("not filter", "not filtr"));
    assert_eq!(
        e,
        "rules/bad.yml:17:34: rule 5f0e1a3c-0000-4000-8000-000000000001: condition: \
         the condition names `filtr`, which the detection does not define (did you mean `filter`?)"
    );
    let e = err(&RULE.replace("selection and not filter", "1 of sel_*"));
    assert!(
        e.contains("17:21") && e.contains("`sel_*` matches no search"),
        "{e}"
    );
}

#[test]
fn bad_values() {
    let e = err(&RULE.replace("CommandLine|contains: ' -c '", "CommandLine|re: '(['"));
    assert!(
        e.contains("14:") && e.contains("invalid regular expression"),
        "{e}"
    );
    let e = err(&RULE.replace(
        "CommandLine|contains: ' -c '",
        "DestinationIp|cidr: '10.0.0.0/33'",
    ));
    assert!(e.contains("not a network in CIDR notation"), "{e}");
    let e = err(&RULE.replace(
        "condition: selection and not filter",
        "condition: selection | count() > 3",
    ));
    assert!(e.contains("aggregations"), "{e}");
}

#[test]
fn collections_global_and_repeat() {
    let text = "action: global
title: Shared
status: test
logsource:
    product: linux
    category: process_creation
detection:
    condition: selection
---
id: 00000000-0000-4000-8000-00000000000a
detection:
    selection:
        Image|endswith: '/nc'
---
action: repeat
id: 00000000-0000-4000-8000-00000000000b
detection:
    selection:
        Image|endswith: '/ncat'
";
    let rules = sigma::load_str("c.yml", text).unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].title, "Shared");
    assert_eq!(rules[1].id, "00000000-0000-4000-8000-00000000000b");
    assert_eq!(
        rules[1].logsource.category.as_deref(),
        Some("process_creation")
    );
}

#[test]
fn compiles_through_the_registry() {
    let set = lang::load_sources(
        vec![SourceFile {
            path: "r.yml".into(),
            text: RULE.into(),
        }],
        Vec::new(),
    )
    .unwrap();
    assert_eq!(set.files, vec![("r.yml".to_string(), "sigma")]);
    let r = &set.rules[0];
    assert_eq!(r.id, "5f0e1a3c-0000-4000-8000-000000000001");
    assert_eq!(r.name, "Test rule");
    assert_eq!(r.priority.as_str(), "Error");
    assert!(r.enabled);
    assert_eq!(
        r.tags,
        [
            "attack.execution",
            "attack.t1059.004",
            "sigma.level:high",
            "sigma.status:test"
        ]
    );
    let fields: Vec<String> = r.fields().iter().map(|f| f.name()).collect();
    assert!(fields.contains(&"parent_exe".to_string()), "{fields:?}");

    let bad = lang::load_sources(
        vec![SourceFile {
            path: "bad.yml".into(),
            text: RULE.replace("Image|endswith", "Image|endwith"),
        }],
        Vec::new(),
    )
    .unwrap_err();
    let d = &bad.0[0];
    assert_eq!((d.file.as_str(), d.line, d.column), ("bad.yml", 13, 15));
}

#[test]
fn unknown_level_and_misspelled_fields_name_the_close_match() {
    let e = err(&RULE.replace("level: high", "level: hihg"));
    assert_eq!(
        e,
        "rules/bad.yml:4:8: rule 5f0e1a3c-0000-4000-8000-000000000001: unknown level `hihg` \
         (did you mean `high`?); Sigma levels are informational, low, medium, high, critical"
    );
    let rules = sigma::load_str(
        "rules/typo.yml",
        &RULE
            .replace("Image|endswith", "Imagee|endswith")
            .replace("CommandLine|contains", "CommandLIne|contains"),
    )
    .unwrap();
    let c = sigma::Compiled::new(rules[0].clone());
    assert_eq!(
        c.applicability.to_string(),
        "cannot fire: needs CommandLIne (did you mean CommandLine?), Imagee (did you mean Image?)"
    );
}
