use super::*;
use crate::cost::breakeven::Threshold;
use crate::cost::estimate::{estimate, Estimate};
use crate::cost::sheet::resolve;
use crate::cost::units::cents;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// The 2010 design's worked example.
fn paper() -> Workload {
    Workload {
        sources: 100_000,
        source_size: ByteSize(5_000_000),
        derived_per_source: 5,
        derived_size: ByteSize(500_000),
        cpu_seconds: Decimal::ONE,
        listeners: 1,
        poll_seconds: Decimal::from(20),
        reads_per_month: 0,
        cross_region: false,
        onezone_loss_rate: dec("0.001"),
        lifetime_days: None,
    }
}

fn run(sheet: &str, w: &Workload) -> Estimate {
    estimate(&resolve(sheet).unwrap(), w).unwrap()
}

fn class(e: &Estimate, c: StorageClass) -> &ClassEstimate {
    e.classes.iter().find(|x| x.class == c).unwrap()
}

#[test]
fn the_2010_example_saves_12_50_gross_and_12_37_net() {
    let e = run("2010-us-east-1", &paper());
    assert_eq!(e.derived_gb, dec("250"));
    assert_eq!(e.listener_requests_per_month, dec("129600"));
    let std = class(&e, StorageClass::Standard);
    let rrs = class(&e, StorageClass::ReducedRedundancy);
    assert_eq!(std.storage, dec("37.50"));
    assert_eq!(rrs.storage, dec("25.00"));
    assert_eq!(rrs.gross_savings, dec("12.50"));
    assert_eq!(rrs.listener, dec("0.1296"));
    // 500,000 x 0.0001 / 12 losses, each: 1 s of $0.085/h + GET $0.000001 + PUT $0.00001
    // + queue delete $0.000001.
    let losses = dec("50") / dec("12");
    assert_eq!(rrs.losses_per_month, losses);
    let each = dec("0.085") / dec("3600") + dec("0.000012");
    assert_eq!(rrs.regeneration_each.total, each);
    assert_eq!(rrs.regeneration, losses * each);
    assert_eq!(
        rrs.net_savings,
        dec("12.50") - dec("0.1296") - losses * each
    );
    assert_eq!(cents(rrs.net_savings), dec("12.37"));
    assert_eq!(cents(rrs.regeneration), dec("0.00"));
    assert_eq!(e.source_storage, dec("75"));
    assert_eq!(e.recommendation, StorageClass::ReducedRedundancy);
}

#[test]
fn in_2026_rrs_costs_more_and_an_ia_class_wins() {
    let e = run("2026-us-east-1", &paper());
    let rrs = class(&e, StorageClass::ReducedRedundancy);
    assert_eq!(rrs.gross_savings, dec("-0.25"));
    assert!(rrs.net_savings < Decimal::ZERO);
    assert_eq!(rrs.break_even.max_annual_loss_rate, Some(Threshold::Never));
    assert_eq!(
        class(&e, StorageClass::StandardIa).net_savings,
        dec("2.625")
    );
    let int = class(&e, StorageClass::IntelligentTiering);
    assert_eq!(int.monitoring, dec("1.25"));
    assert_eq!(int.net_savings, dec("-1.25"));
    let oz = class(&e, StorageClass::OnezoneIa);
    assert_eq!(oz.storage, dec("2.5"));
    assert_eq!(oz.losses_per_month, dec("500") / dec("12"));
    assert_eq!(oz.listener, dec("0.05184"));
    assert_eq!(e.recommendation, StorageClass::OnezoneIa);
}

#[test]
fn small_objects_are_billed_at_the_ia_minimum_and_standard_wins() {
    let w = Workload {
        derived_size: ByteSize(20_000),
        onezone_loss_rate: Decimal::ZERO,
        ..paper()
    };
    let e = run("2026-us-east-1", &w);
    let ia = class(&e, StorageClass::StandardIa);
    assert_eq!(ia.storage, dec("500000") * dec("0.000128") * dec("0.0125")); // 128 KB each
    assert!(ia.net_savings < Decimal::ZERO);
    let int = class(&e, StorageClass::IntelligentTiering);
    assert_eq!(int.monitoring, Decimal::ZERO); // under 128 KB: not monitored
    assert_eq!(e.recommendation, StorageClass::Standard);
}

#[test]
fn break_even_size_is_where_ia_stops_costing_more() {
    let w = Workload {
        onezone_loss_rate: Decimal::ZERO,
        ..paper()
    };
    let e = run("2026-us-east-1", &w);
    // 128,000 x 0.0125 / 0.023 = 69,565.2 bytes
    let be = class(&e, StorageClass::StandardIa)
        .break_even
        .min_derived_size;
    assert_eq!(be, Some(Threshold::At(dec("69566"))));
    let sheet = resolve("2026-us-east-1").unwrap();
    let at = |bytes| {
        let w = Workload {
            derived_size: ByteSize(bytes),
            ..w.clone()
        };
        estimate(&sheet, &w).unwrap().classes[2].net_savings
    };
    assert!(at(69_565) < Decimal::ZERO && at(69_566) >= Decimal::ZERO);
    assert_eq!(
        class(&e, StorageClass::StandardIa)
            .break_even
            .max_reads_per_month,
        Some(Threshold::At(dec("468750")))
    );
}

#[test]
fn loss_rate_and_cpu_break_evens_zero_the_savings() {
    let w = Workload {
        cpu_seconds: Decimal::from(100_000),
        ..paper()
    };
    let e = run("2010-us-east-1", &w);
    let rrs = class(&e, StorageClass::ReducedRedundancy);
    let Some(Threshold::At(rate)) = rrs.break_even.max_annual_loss_rate else {
        panic!("{:?}", rrs.break_even)
    };
    assert!(rate > dec("0.0001") && rate < dec("0.0002"), "{rate}");
    let sheet = resolve("2010-us-east-1").unwrap();
    let mut at_rate = sheet.clone();
    at_rate.classes[1].annual_loss_rate = Some(rate);
    let net = estimate(&at_rate, &w).unwrap().classes[1].net_savings;
    assert!(net.abs() < dec("0.000001"), "{net}");

    let e = run("2010-us-east-1", &paper());
    let Some(Threshold::At(cpu)) = class(&e, StorageClass::ReducedRedundancy)
        .break_even
        .max_cpu_seconds
    else {
        panic!()
    };
    assert_eq!(cpu.floor(), dec("125740")); // ~35 CPU-hours per regeneration
    let w = Workload {
        cpu_seconds: cpu,
        ..paper()
    };
    let net = run("2010-us-east-1", &w).classes[1].net_savings;
    assert!(net.abs() < dec("0.000001"), "{net}");
}

#[test]
fn reads_lifetime_and_cross_region_are_charged() {
    let w = Workload {
        reads_per_month: 1_000_000,
        lifetime_days: Some(10),
        cross_region: true,
        ..paper()
    };
    let e = run("2026-us-east-1", &w);
    let ia = class(&e, StorageClass::StandardIa);
    assert_eq!(ia.storage, dec("3.125") * dec("3")); // kept 10 days, billed 30
                                                     // 1M GETs at $0.001/1000 + 1.5M rewrites a month at $0.01/1000
    assert_eq!(ia.requests, dec("1") + dec("15"));
    assert_eq!(ia.retrieval, dec("500") * dec("0.01")); // 1M x 500 KB = 500 GB
    let std = class(&e, StorageClass::Standard);
    assert_eq!(std.storage, dec("5.75")); // no minimum duration
    let oz = class(&e, StorageClass::OnezoneIa);
    assert_eq!(oz.regeneration_each.transfer, dec("0.005") * dec("0.02"));

    let err = estimate(&resolve("2010-us-east-1").unwrap(), &w).unwrap_err();
    assert!(err.to_string().contains("--cross-region"), "{err}");
}

#[test]
fn listeners_are_charged_only_where_objects_are_lost() {
    let w = Workload {
        listeners: 3,
        poll_seconds: Decimal::from(10),
        onezone_loss_rate: Decimal::ZERO,
        ..paper()
    };
    let e = run("2026-us-east-1", &w);
    assert_eq!(e.listener_requests_per_month, dec("777600"));
    assert_eq!(
        class(&e, StorageClass::ReducedRedundancy).listener,
        dec("0.31104")
    );
    for c in [
        StorageClass::Standard,
        StorageClass::StandardIa,
        StorageClass::OnezoneIa,
    ] {
        assert_eq!(class(&e, c).listener, Decimal::ZERO, "{c:?}");
    }
}

#[test]
fn objects_kept_under_the_minimum_duration_never_pay_in_ia() {
    // Billed 30 days for 14 kept: 0.0125 x 30/14 = $0.0268/GB, dearer than STANDARD at any size.
    let w = Workload {
        lifetime_days: Some(14),
        onezone_loss_rate: Decimal::ZERO,
        ..paper()
    };
    let e = run("2026-us-east-1", &w);
    let ia = class(&e, StorageClass::StandardIa);
    assert!(ia.net_savings < Decimal::ZERO);
    assert_eq!(ia.break_even.min_derived_size, Some(Threshold::Never));
    assert_eq!(ia.break_even.max_reads_per_month, Some(Threshold::Never));
    let w = Workload {
        lifetime_days: Some(30),
        ..w
    };
    let e = run("2026-us-east-1", &w);
    assert!(class(&e, StorageClass::StandardIa).net_savings > Decimal::ZERO);
}
