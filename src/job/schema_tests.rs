//! `schema/job.schema.json` is what users read to write job messages by hand; these tests
//! keep it honest: its fields are exactly the parser's, and every example in it parses.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::*;

fn schema() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/job.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("schema is JSON")
}

#[test]
fn schema_describes_exactly_what_the_parser_accepts() {
    let schema = schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let properties = schema["properties"].as_object().expect("properties");
    let in_schema: BTreeSet<&str> = properties.keys().map(String::as_str).collect();
    assert_eq!(in_schema, JOB_FIELDS.into_iter().collect());
    assert_eq!(schema["required"], json!(["source"]));
    assert_eq!(schema["additionalProperties"], json!(false));
    for (name, property) in properties {
        let text = property["description"].as_str().unwrap_or_default();
        assert!(text.len() > 20, "{name} needs a description");
    }
}

#[test]
fn schema_examples_parse() {
    let schema = schema();
    let examples = schema["examples"].as_array().expect("examples");
    assert!(examples.len() >= 3);
    for example in examples {
        parse_job(&example.to_string()).unwrap_or_else(|e| panic!("{example}: {e}"));
    }
    for (name, property) in schema["properties"].as_object().unwrap() {
        let values = property["examples"].as_array();
        for value in values.unwrap_or_else(|| panic!("{name} has no examples")) {
            let mut message = json!({ "source": "a.jpg" });
            message[name] = value.clone();
            parse_job(&message.to_string()).unwrap_or_else(|e| panic!("{name} = {value}: {e}"));
        }
    }
}
