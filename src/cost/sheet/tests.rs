use super::*;

const SHEET_2010: &str = include_str!("../../../prices/2010-us-east-1.toml");

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The 2010 sheet with one line replaced (the line must exist).
fn edited(from: &str, to: &str) -> String {
    assert!(
        SHEET_2010.contains(from),
        "test setup: {from:?} not in the sheet"
    );
    SHEET_2010.replacen(from, to, 1)
}

/// Parses `text` as `bad.toml` and returns the (file, key, message) of the error.
fn sheet_error(text: &str) -> (String, String, String) {
    match parse(text, "bad.toml") {
        Err(CostError::Sheet { file, key, message }) => (file, key, message),
        other => panic!("expected a key error, got {other:?}"),
    }
}

#[test]
fn shipped_sheets_load_with_their_prices() {
    let old = resolve("2010-us-east-1").unwrap();
    let classes: Vec<_> = old.classes.iter().map(|c| c.class).collect();
    assert_eq!(
        classes,
        [StorageClass::Standard, StorageClass::ReducedRedundancy]
    );
    assert_eq!(old.standard().per_gb_month, dec("0.15"));
    assert_eq!(old.classes[1].annual_loss_rate, Some(dec("0.0001")));
    assert_eq!(old.compute.per_hour.0, dec("0.085"));
    assert_eq!(old.file, "prices/2010-us-east-1.toml (built in)");
    assert!(old.transfer.cross_region_per_gb.is_none());

    let new = resolve("2026-us-east-1").unwrap();
    assert_eq!(new.classes.len(), 5);
    let ia = &new.classes[2];
    assert_eq!(ia.class, StorageClass::StandardIa);
    assert_eq!(ia.min_object_size, ByteSize(128_000));
    assert_eq!(ia.min_storage_days, 30);
    assert_eq!(ia.retrieval_per_gb, dec("0.01"));
    assert_eq!(new.classes[3].annual_loss_rate, None); // ONEZONE_IA: from the flag
    assert_eq!(new.classes[4].monitoring_per_1000_objects, dec("0.0025"));
    for c in old.classes.iter().chain(&new.classes) {
        assert!(c.source.starts_with("https://aws.amazon.com/"), "{c:?}");
    }
}

#[test]
fn unknown_keys_are_rejected_with_file_and_dotted_key() {
    let (file, key, message) =
        sheet_error(&edited("per_gb_month = \"0.15\"", "per_gb_mnth = \"0.15\""));
    assert_eq!(file, "bad.toml");
    assert_eq!(key, "storage.STANDARD.per_gb_mnth");
    assert!(message.contains("unknown field"), "{message}");

    let (_, key, _) = sheet_error(&format!(
        "{SHEET_2010}\n[storage.GLACIER]\nper_gb_month = 1\n"
    ));
    assert_eq!(key, "storage.GLACIER");

    let (_, key, _) = sheet_error(&format!("colour = \"blue\"\n{SHEET_2010}"));
    assert_eq!(key, "colour");
}

#[test]
fn bad_values_are_rejected_with_file_and_key() {
    let (file, key, message) = sheet_error(&edited("per_hour = \"0.085\"", "per_hour = \"cheap\""));
    assert_eq!(
        (file.as_str(), key.as_str()),
        ("bad.toml", "compute.per_hour")
    );
    assert!(message.contains("\"cheap\""), "{message}");

    let (_, key, _) = sheet_error(&edited("per_gb_month = \"0.10\"", "per_gb_month = -0.10"));
    assert_eq!(key, "storage.REDUCED_REDUNDANCY.per_gb_month");

    let (_, key, message) = sheet_error(&edited(
        "annual_loss_rate = \"0.0001\"",
        "annual_loss_rate = \"2\"",
    ));
    assert_eq!(key, "storage.REDUCED_REDUNDANCY.annual_loss_rate");
    assert!(message.contains("more than 100 %"), "{message}");

    let (_, key, _) = sheet_error(&edited("vcpus = 1", "vcpus = 0"));
    assert_eq!(key, "compute.vcpus");

    let (_, key, _) = sheet_error(&edited("currency = \"USD\"", "currency = \"EUR\""));
    assert_eq!(key, "currency");
}

#[test]
fn missing_keys_are_named() {
    let (_, key, message) = sheet_error(&edited("put_per_1000 = \"0.01\"          # PUT", "# PUT"));
    assert_eq!(key, "storage.STANDARD.put_per_1000");
    assert!(message.contains("missing field"), "{message}");

    let (_, key, _) = sheet_error(&edited("annual_loss_rate = \"0.0001\"", ""));
    assert_eq!(key, "storage.REDUCED_REDUNDANCY.annual_loss_rate");

    let no_standard = edited("[storage.STANDARD]", "[storage.STANDARD_IA]");
    let (_, key, _) = sheet_error(&no_standard);
    assert_eq!(key, "storage.STANDARD");
}

#[test]
fn onezone_loss_rate_belongs_to_the_flag_not_the_sheet() {
    let text = include_str!("../../../prices/2026-us-east-1.toml").replacen(
        "min_object_size = \"128KB\"\nmin_storage_days = 30\nretrieval_per_gb = \"0.01\"\nsource",
        "min_object_size = \"128KB\"\nmin_storage_days = 30\nretrieval_per_gb = \"0.01\"\nannual_loss_rate = \"0.001\"\nsource",
        1,
    );
    let (_, key, message) = sheet_error(&text);
    assert_eq!(key, "storage.ONEZONE_IA.annual_loss_rate");
    assert!(message.contains("--onezone-loss-rate"), "{message}");
}

#[test]
fn numbers_and_sizes_load_exactly_in_either_spelling() {
    let sheet = parse(
        &edited("per_hour = \"0.085\"", "per_hour = 0.085"),
        "f.toml",
    )
    .unwrap();
    assert_eq!(sheet.compute.per_hour.0, dec("0.085")); // not 0.08500000000000000611
    let text = edited(
        "annual_loss_rate = \"0.0001\"",
        "annual_loss_rate = \"0.01%\"\nmin_object_size = 131072",
    );
    let sheet = parse(&text, "f.toml").unwrap();
    assert_eq!(sheet.classes[1].annual_loss_rate, Some(dec("0.0001")));
    assert_eq!(sheet.classes[1].min_object_size, ByteSize(131_072));
    let (_, key, _) = sheet_error(&edited("vcpus = 1", "vcpus = 1\n").replacen(
        "annual_loss_rate = \"0.0001\"",
        "annual_loss_rate = \"0.0001\"\nmin_object_size = \"128 potatoes\"",
        1,
    ));
    assert_eq!(key, "storage.REDUCED_REDUNDANCY.min_object_size");
}

#[test]
fn broken_toml_unknown_names_and_missing_files_say_which() {
    match parse("name = ", "broken.toml") {
        Err(e @ CostError::Toml { .. }) => assert!(e.to_string().contains("broken.toml"), "{e}"),
        other => panic!("{other:?}"),
    }
    let err = resolve("2011-eu-west-1").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("\"2011-eu-west-1\"") && text.contains("2026-us-east-1"),
        "{text}"
    );
    let err = resolve("/nonexistent/sheet.toml").unwrap_err();
    assert!(matches!(err, CostError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("/nonexistent/sheet.toml"), "{err}");
}

#[test]
fn a_user_file_loads_from_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.toml");
    std::fs::write(
        &path,
        edited("per_gb_month = \"0.10\"", "per_gb_month = \"0.05\""),
    )
    .unwrap();
    let sheet = resolve(path.to_str().unwrap()).unwrap();
    assert_eq!(sheet.classes[1].per_gb_month, dec("0.05"));
    assert_eq!(sheet.file, path.display().to_string());
}
