//! `derivd cost` end to end: flags parsed by clap as main.rs will, output checked as text
//! and as JSON.

use clap::Parser;
use derivd::cost::{run, CostArgs, CostError};
use rust_decimal::Decimal;
use serde_json::Value;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    a: CostArgs,
}

fn args(flags: &[&str]) -> CostArgs {
    Cli::try_parse_from(std::iter::once("cost").chain(flags.iter().copied()))
        .unwrap_or_else(|e| panic!("{flags:?}: {e}"))
        .a
}

fn cost(flags: &[&str]) -> String {
    run(&args(flags)).unwrap_or_else(|e| panic!("{flags:?}: {e}"))
}

fn cost_err(flags: &[&str]) -> CostError {
    run(&args(flags)).expect_err("expected an error")
}

const PAPER_2010: &[&str] = &[
    "--sources",
    "100000",
    "--source-size",
    "5MB",
    "--derived-per-source",
    "5",
    "--derived-size",
    "500KB",
    "--cpu-seconds",
    "1",
    "--prices",
    "2010-us-east-1",
];

/// The cells of the table row starting with `label`.
fn row<'a>(table: &'a str, label: &str) -> Vec<&'a str> {
    let line = table
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no row {label:?} in\n{table}"));
    line[label.len()..].split_whitespace().collect()
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("{v} is not a string"))
        .parse()
        .unwrap()
}

#[test]
fn the_2010_example_shows_12_50_gross_and_12_37_net() {
    let table = cost(PAPER_2010);
    assert_eq!(
        row(&table, "Monthly, USD"),
        ["STANDARD", "REDUCED_REDUNDANCY"]
    );
    assert_eq!(row(&table, "storage"), ["$37.50", "$25.00"]);
    assert_eq!(row(&table, "expected losses a month"), ["0.00", "4.17"]);
    assert_eq!(row(&table, "repair listener"), ["$0.00", "$0.13"]);
    assert_eq!(row(&table, "gross savings (storage)"), ["—", "$12.50"]);
    assert_eq!(row(&table, "net savings"), ["—", "$12.37"]);
    assert!(table.contains("129,600 receives a month"), "{table}");
    assert!(
        table.contains("Recommendation: REDUCED_REDUNDANCY, $25.13 a month, $12.37 less"),
        "{table}"
    );
    assert!(
        table.contains("storage_class = \"REDUCED_REDUNDANCY\""),
        "{table}"
    );
    assert!(
        !table.contains("STANDARD_IA"),
        "2010 had no IA classes:\n{table}"
    );
}

#[test]
fn the_2010_example_as_json_is_exact() {
    let mut flags = PAPER_2010.to_vec();
    flags.push("--json");
    let json: Value = serde_json::from_str(&cost(&flags)).unwrap();
    assert_eq!(json["sheet"]["name"], "2010-us-east-1");
    assert_eq!(json["recommendation"], "REDUCED_REDUNDANCY");
    let rrs = &json["classes"][1];
    assert_eq!(rrs["class"], "REDUCED_REDUNDANCY");
    assert_eq!(dec(&rrs["gross_savings"]), Decimal::new(1250, 2));
    assert_eq!(dec(&rrs["listener"]), Decimal::new(1296, 4));
    let net = dec(&rrs["net_savings"]);
    assert!(
        net > Decimal::new(123702, 4) && net < Decimal::new(123703, 4),
        "{net}"
    );
    assert_eq!(rrs["break_even"]["max_annual_loss_rate"]["kind"], "always");
    assert_eq!(json["classes"].as_array().unwrap().len(), 2);
}

#[test]
fn today_rrs_costs_more_and_the_defaults_use_the_2026_sheet() {
    let table = cost(&[]);
    assert_eq!(run(&CostArgs::default()).unwrap(), table); // Default = no flags
    assert!(
        table.starts_with("derivd cost: prices 2026-us-east-1"),
        "{table}"
    );
    assert_eq!(
        row(&table, "Monthly, USD"),
        [
            "STANDARD",
            "REDUCED_REDUNDANCY",
            "STANDARD_IA",
            "ONEZONE_IA",
            "INTELLIGENT_TIERING"
        ]
    );
    assert_eq!(
        row(&table, "storage"),
        ["$5.75", "$6.00", "$3.13", "$2.50", "$5.75"]
    );
    assert_eq!(
        row(&table, "net savings"),
        ["—", "-$0.30", "$2.63", "$3.20", "-$1.25"]
    );
    assert_eq!(row(&table, "pays while derived size >=")[2], "69.57");
    assert!(
        table.contains("REDUCED_REDUNDANCY costs more per GB than STANDARD"),
        "{table}"
    );
    assert!(table.contains("storage_class = \"ONEZONE_IA\""), "{table}");
}

#[test]
fn small_thumbnails_or_many_reads_make_standard_the_answer() {
    for flags in [
        &["--derived-size", "20KB"][..],
        &["--reads-per-month", "100000000"],
    ] {
        let table = cost(flags);
        assert!(
            table.contains("Recommendation: STANDARD ("),
            "{flags:?}\n{table}"
        );
    }
    let table = cost(&["--reads-per-month", "1000000"]);
    assert!(row(&table, "retrieval").contains(&"$5.00"), "{table}");
}

#[test]
fn bad_flags_are_named() {
    let err = Cli::try_parse_from(["cost", "--derived-size", "5XB"])
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("--derived-size") && err.contains("unknown unit \"XB\""),
        "{err}"
    );
    let err = Cli::try_parse_from(["cost", "--onezone-loss-rate", "150%"])
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("--onezone-loss-rate") && err.contains("more than 100 %"),
        "{err}"
    );

    let err = cost_err(&["--prices", "2010-eu-west-1"]).to_string();
    assert!(
        err.contains("--prices \"2010-eu-west-1\"") && err.contains("2010-us-east-1"),
        "{err}"
    );
    let err = cost_err(&["--prices", "2010-us-east-1", "--cross-region"]).to_string();
    assert!(
        err.starts_with("--cross-region:") && err.contains("cross_region_per_gb"),
        "{err}"
    );
    let err = cost_err(&[
        "--sources",
        "18446744073709551615",
        "--derived-per-source",
        "2",
    ]);
    assert!(
        err.to_string().starts_with("--derived-per-source:"),
        "{err}"
    );
    let err = cost_err(&["--derived-size", "6TB"]).to_string();
    assert!(
        err.starts_with("--derived-size:") && err.contains("5 TB"),
        "{err}"
    );
}

#[test]
fn a_user_sheet_with_an_unknown_key_is_rejected_by_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.toml");
    let text = include_str!("../prices/2026-us-east-1.toml").replace("per_hour", "per_hr");
    std::fs::write(&path, text).unwrap();
    let err = cost_err(&["--prices", path.to_str().unwrap()]).to_string();
    assert!(
        err.contains(path.to_str().unwrap()) && err.contains("`compute.per_hr`"),
        "{err}"
    );
}
