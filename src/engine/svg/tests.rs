//! The SVG guards on small hostile inputs (the corpus files are in tests/engine_modern.rs).

use super::guard::{self, MAX_DEPTH};
use super::*;

fn refused(svg: &str) -> EngineError {
    read_header(svg.as_bytes(), &Limits::default()).unwrap_err()
}

#[test]
fn entity_bombs_are_measured_not_expanded() {
    let mut bomb = String::from("<!DOCTYPE svg [<!ENTITY a \"aaaaaaaaaa\">");
    for i in 1..8 {
        let prev = if i == 1 {
            "a".to_string()
        } else {
            format!("e{}", i - 1)
        };
        bomb += &format!("<!ENTITY e{i} \"{}\">", format!("&{prev};").repeat(10));
    }
    bomb += "]><svg xmlns='http://www.w3.org/2000/svg'><text>&e7;&e7;</text></svg>";
    let started = std::time::Instant::now();
    let e = guard::check_entities(&bomb, 10 << 20).unwrap_err();
    assert!(matches!(e, EngineError::LimitExceeded(_)), "{e}");
    assert!(started.elapsed().as_millis() < 100);
    assert!(guard::check_entities("<!DOCTYPE svg [<!ENTITY n 'x'>]><svg>&n;</svg>", 100).is_ok());
}

#[test]
fn deep_nesting_and_use_chains_are_refused() {
    let deep = format!(
        "<svg xmlns='http://www.w3.org/2000/svg'>{}{}</svg>",
        "<g>".repeat(MAX_DEPTH + 10),
        "</g>".repeat(MAX_DEPTH + 10)
    );
    assert!(matches!(refused(&deep), EngineError::LimitExceeded(m) if m.contains("nest")));
    // Ten uses of ten uses of … : 10^9 elements from 70 lines.
    let mut chain = String::from(
        "<svg xmlns='http://www.w3.org/2000/svg' xmlns:xlink='http://www.w3.org/1999/xlink'>\
         <defs><rect id='l0' width='1' height='1'/>",
    );
    for i in 1..10 {
        chain += &format!("<g id='l{i}'>");
        for _ in 0..10 {
            chain += &format!("<use xlink:href='#l{}'/>", i - 1);
        }
        chain += "</g>";
    }
    chain += "</defs><use xlink:href='#l9'/></svg>";
    assert!(matches!(refused(&chain), EngineError::LimitExceeded(m) if m.contains("references")));
}

#[test]
fn huge_declared_sizes_are_capped_by_the_output_side() {
    let svg = "<svg xmlns='http://www.w3.org/2000/svg' width='1000000' height='500000'/>";
    let info = read_header(svg.as_bytes(), &Limits::default()).unwrap();
    assert_eq!((info.width, info.height), (8192, 4096));
}
