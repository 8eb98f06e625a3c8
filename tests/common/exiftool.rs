//! exiftool as the independent parser the metadata tests read outputs back with. Absent
//! exiftool fails the test (it is in `scripts/setup-system.sh`'s test group), never skips.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Map, Value};

/// Every tag exiftool finds in `bytes`, keyed `Group1:Tag` (`IFD0:Copyright`,
/// `XMP-dc:Rights`, `ICC_Profile:ProfileDescription`…), values as exiftool's `-n` numbers.
pub fn tags(bytes: &[u8]) -> Map<String, Value> {
    let mut child = Command::new("exiftool")
        .args(["-json", "-G1", "-a", "-n", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("exiftool must be installed (scripts/setup-system.sh test)");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "exiftool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("exiftool -json");
    match v {
        Value::Array(mut a) if a.len() == 1 => match a.remove(0) {
            Value::Object(m) => m,
            other => panic!("exiftool gave {other}"),
        },
        other => panic!("exiftool gave {other}"),
    }
}

/// The text of a tag, if present.
pub fn text(tags: &Map<String, Value>, key: &str) -> Option<String> {
    tags.get(key).map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// Tag keys that match `pred` (e.g. every GPS tag in any group).
pub fn keys_where(tags: &Map<String, Value>, pred: impl Fn(&str) -> bool) -> Vec<String> {
    tags.keys().filter(|k| pred(k)).cloned().collect()
}
