//! Unit tests: the string to sign, the URL validator, certificates and signatures (with
//! the fixture key pair in `tests/fixtures/sns/`, see its README).

use std::time::Duration;

use base64::Engine as _;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};

use super::cert::{CertCache, SigningCert};
use super::envelope::{string_to_sign, Envelope, MessageType, SignatureVersion};
use super::fresh;
use super::url::{is_sns_host, signing_cert_url, subscribe_url, UrlError};

const CERT: &str = include_str!("../../tests/fixtures/sns/signing-cert.pem");
const KEY: &str = include_str!("../../tests/fixtures/sns/signing-key.pem");

fn notification() -> Envelope {
    Envelope {
        kind: Some("Notification".into()),
        message_id: Some("m-1".into()),
        topic_arn: Some("arn:aws:sns:us-east-1:123456789012:t".into()),
        message: Some("{\"a\":1}\nsecond line".into()),
        timestamp: Some("2026-01-01T00:00:00.000Z".into()),
        token: Some("unsigned for notifications".into()),
        subscribe_url: Some("https://unsigned.example/".into()),
        ..Envelope::default()
    }
}

#[test]
fn notification_string_to_sign_in_documented_order() {
    let mut e = notification();
    let want =
        "Message\n{\"a\":1}\nsecond line\nMessageId\nm-1\nTimestamp\n2026-01-01T00:00:00.000Z\n\
                TopicArn\narn:aws:sns:us-east-1:123456789012:t\nType\nNotification\n";
    assert_eq!(string_to_sign(MessageType::Notification, &e).unwrap(), want);
    e.subject = Some("Hi".into());
    let with_subject = string_to_sign(MessageType::Notification, &e).unwrap();
    assert!(with_subject.contains("MessageId\nm-1\nSubject\nHi\nTimestamp\n"));
    e.subject = Some(String::new());
    let empty = string_to_sign(MessageType::Notification, &e).unwrap();
    assert!(
        empty.contains("MessageId\nm-1\nSubject\n\nTimestamp\n"),
        "{empty}"
    );
    e.timestamp = None;
    assert_eq!(
        string_to_sign(MessageType::Notification, &e),
        Err("Timestamp")
    );
}

#[test]
fn confirmation_string_to_sign_in_documented_order() {
    let e = Envelope {
        kind: Some("SubscriptionConfirmation".into()),
        subject: Some("never signed here".into()),
        subscribe_url: Some("https://sns.us-east-1.amazonaws.com/?Action=X".into()),
        token: Some("tok".into()),
        ..notification()
    };
    let want = "Message\n{\"a\":1}\nsecond line\nMessageId\nm-1\n\
                SubscribeURL\nhttps://sns.us-east-1.amazonaws.com/?Action=X\n\
                Timestamp\n2026-01-01T00:00:00.000Z\nToken\ntok\n\
                TopicArn\narn:aws:sns:us-east-1:123456789012:t\nType\nSubscriptionConfirmation\n";
    for kind in [
        MessageType::SubscriptionConfirmation,
        MessageType::UnsubscribeConfirmation,
    ] {
        assert_eq!(string_to_sign(kind, &e).unwrap(), want);
    }
    let no_token = Envelope { token: None, ..e };
    assert_eq!(
        string_to_sign(MessageType::SubscriptionConfirmation, &no_token),
        Err("Token")
    );
}

#[test]
fn types_and_versions_parse_exactly() {
    assert_eq!(
        MessageType::parse("Notification"),
        Some(MessageType::Notification)
    );
    assert_eq!(MessageType::parse("notification"), None);
    assert_eq!(SignatureVersion::parse("1"), Some(SignatureVersion::Sha1));
    assert_eq!(SignatureVersion::parse("2"), Some(SignatureVersion::Sha256));
    for v in ["3", "", "01", " 1"] {
        assert_eq!(SignatureVersion::parse(v), None, "{v:?}");
    }
}

#[test]
fn sns_hosts_match_exactly() {
    for ok in [
        "sns.us-east-1.amazonaws.com",
        "sns.us-gov-west-1.amazonaws.com",
        "sns.cn-north-1.amazonaws.com.cn",
        "sns.ap-southeast-7.amazonaws.com",
    ] {
        assert!(is_sns_host(ok), "{ok}");
    }
    for bad in [
        "sns.us-east-1.amazonaws.com.evil.com",
        "sns.us-east-1.amazonaws.com.",
        "evil.com",
        "sqs.us-east-1.amazonaws.com",
        "sns.amazonaws.com",
        "sns..amazonaws.com",
        "sns.evil.com.amazonaws.com",
        "sns.us-east.amazonaws.com",
        "sns.US-EAST-1.amazonaws.com",
        "sns.us-east-1.amazonaws.com:443",
        "user@sns.us-east-1.amazonaws.com",
        "sns.us-east-1.amazonaws.com@evil.com",
        "x.sns.us-east-1.amazonaws.com",
        "sns.us-east-1.amazonaws.cn",
    ] {
        assert!(!is_sns_host(bad), "{bad}");
    }
}

#[test]
fn signing_cert_urls_are_validated() {
    let u = signing_cert_url("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem")
        .unwrap();
    assert_eq!(u.host(), "sns.us-east-1.amazonaws.com");
    assert_eq!(u.path_and_query(), "/SimpleNotificationService-x.pem");
    assert_eq!(
        u.fetch_url(None),
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem"
    );
    assert_eq!(
        u.fetch_url(Some("http://127.0.0.1:9/")),
        "http://127.0.0.1:9/SimpleNotificationService-x.pem"
    );
    let cases: &[(&str, UrlError)] = &[
        (
            "http://sns.us-east-1.amazonaws.com/a.pem",
            UrlError::NotHttps,
        ),
        (
            "HTTPS://sns.us-east-1.amazonaws.com/a.pem",
            UrlError::NotHttps,
        ),
        (
            "https://sns.us-east-1.amazonaws.com/a.pem?x=1",
            UrlError::NotPem,
        ),
        (
            "https://sns.us-east-1.amazonaws.com/a.pem.txt",
            UrlError::NotPem,
        ),
        ("https://sns.us-east-1.amazonaws.com/", UrlError::NotPem),
        (
            "https://sns.us-east-1.amazonaws.com?a.pem",
            UrlError::NotPem,
        ),
        (
            "https://sns.us-east-1.amazonaws.com/a b.pem",
            UrlError::BadCharacter,
        ),
        (
            "https://sns.us-east-1.amazonaws.com/a.pem#x",
            UrlError::BadCharacter,
        ),
        (
            "https://sns.us-east-1.amazonaws.com\\@evil.com/a.pem",
            UrlError::BadCharacter,
        ),
        (
            "https://sns.us-east-1.amazonaws.com/\u{e9}.pem",
            UrlError::BadCharacter,
        ),
    ];
    for (url, want) in cases {
        assert_eq!(signing_cert_url(url).as_ref(), Err(want), "{url}");
    }
    for host in [
        "sns.us-east-1.amazonaws.com.evil.com",
        "evil.com",
        "sns.us-east-1.amazonaws.com:8443",
        "sns.us-east-1.amazonaws.com:443",
        "u:p@sns.us-east-1.amazonaws.com",
        "sns.us-east-1.amazonaws.com@evil.com",
        "",
    ] {
        let url = format!("https://{host}/a.pem");
        assert!(
            matches!(signing_cert_url(&url), Err(UrlError::NotSnsHost(_))),
            "{url}"
        );
    }
}

#[test]
fn subscribe_urls_are_validated() {
    let u = subscribe_url(
        "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:1:t&Token=ab",
    )
    .unwrap();
    assert_eq!(
        u.path_and_query(),
        "/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:1:t&Token=ab"
    );
    assert_eq!(
        subscribe_url("https://sns.us-west-2.amazonaws.com?Action=X")
            .unwrap()
            .path_and_query(),
        "/?Action=X"
    );
    assert!(subscribe_url("https://sns.us-west-2.amazonaws.com.evil.com/?Action=X").is_err());
    assert!(subscribe_url("http://sns.us-west-2.amazonaws.com/?Action=X").is_err());
}

fn sign(version: SignatureVersion, text: &str) -> Vec<u8> {
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(KEY).unwrap();
    match version {
        SignatureVersion::Sha1 => rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(key)
            .sign(text.as_bytes())
            .to_vec(),
        SignatureVersion::Sha256 => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key)
            .sign(text.as_bytes())
            .to_vec(),
    }
}

#[test]
fn signatures_verify_with_the_matching_version_only() {
    let cert = SigningCert::from_pem(CERT.as_bytes()).unwrap();
    let text = string_to_sign(MessageType::Notification, &notification()).unwrap();
    for (version, other) in [
        (SignatureVersion::Sha1, SignatureVersion::Sha256),
        (SignatureVersion::Sha256, SignatureVersion::Sha1),
    ] {
        let sig = sign(version, &text);
        assert!(cert.verifies(version, text.as_bytes(), &sig));
        assert!(!cert.verifies(other, text.as_bytes(), &sig));
        let mut forged = text.clone().into_bytes();
        forged[9] ^= 1;
        assert!(!cert.verifies(version, &forged, &sig));
        let mut bad_sig = sig.clone();
        bad_sig[0] ^= 1;
        assert!(!cert.verifies(version, text.as_bytes(), &bad_sig));
        assert!(!cert.verifies(version, text.as_bytes(), &[]));
    }
    // Base64 round trip as in a message.
    let b64 = base64::engine::general_purpose::STANDARD.encode(sign(SignatureVersion::Sha1, &text));
    assert!(b64.len() > 300);
}

#[test]
fn certificate_dates_are_checked() {
    let cert = SigningCert::from_pem(CERT.as_bytes()).unwrap();
    assert!(cert.valid_now());
    // The fixture is valid from 2000-01-01 to 2100-01-01.
    assert!(cert.valid_at(Duration::from_secs(946_684_800)));
    assert!(!cert.valid_at(Duration::from_secs(946_684_799)));
    assert!(!cert.valid_at(Duration::from_secs(4_102_444_801)));
}

#[test]
fn bad_certificates_are_refused() {
    assert!(SigningCert::from_pem(b"").is_err());
    assert!(SigningCert::from_pem(b"not a pem").is_err());
    assert!(SigningCert::from_pem(KEY.as_bytes()).is_err());
    let mut truncated = CERT.as_bytes().to_vec();
    truncated.truncate(CERT.len() / 2);
    assert!(SigningCert::from_pem(&truncated).is_err());
}

#[test]
fn cert_cache_is_bounded_and_keyed_by_url() {
    let cert = std::sync::Arc::new(SigningCert::from_pem(CERT.as_bytes()).unwrap());
    let cache = CertCache::new(2);
    cache.insert("a", cert.clone());
    cache.insert("b", cert.clone());
    cache.insert("a", cert.clone());
    cache.insert("c", cert.clone());
    assert!(cache.get("b").is_none(), "oldest evicted");
    assert!(cache.get("a").is_some() && cache.get("c").is_some());
    assert!(cache.get("d").is_none());
}

#[test]
fn timestamps_older_than_sns_retries_or_in_the_future_are_refused() {
    use time::macros::datetime;
    let now = datetime!(2026-11-27 12:00:00 UTC);
    assert!(fresh("2026-11-27T12:00:00.000Z", now).is_ok());
    assert!(
        fresh("2026-11-27T11:00:00.123Z", now).is_ok(),
        "an hour of SNS retries"
    );
    assert!(fresh("2026-11-27T12:10:00Z", now).is_ok(), "clock skew");
    assert!(fresh("2026-11-27T10:30:00.000Z", now).is_err());
    assert!(fresh("2026-11-27T13:00:00.000Z", now).is_err());
    assert!(fresh("yesterday", now).is_err());
    assert!(fresh("", now).is_err());
}

#[test]
fn certificates_come_from_the_topics_own_region_and_partition() {
    let url = |host: &str| {
        signing_cert_url(&format!("https://{host}/SimpleNotificationService-x.pem")).unwrap()
    };
    let us = "arn:aws:sns:us-east-1:123456789012:t";
    let cn = "arn:aws-cn:sns:cn-north-1:123456789012:t";
    assert!(super::cert_in_topic_region(&url("sns.us-east-1.amazonaws.com"), us).is_ok());
    assert!(super::cert_in_topic_region(&url("sns.cn-north-1.amazonaws.com.cn"), cn).is_ok());
    // The China domain only for the China regions, and never another region.
    assert!(super::cert_in_topic_region(&url("sns.us-east-1.amazonaws.com.cn"), us).is_err());
    assert!(super::cert_in_topic_region(&url("sns.eu-west-1.amazonaws.com"), us).is_err());
    assert!(super::cert_in_topic_region(&url("sns.cn-north-1.amazonaws.com"), cn).is_err());
}
