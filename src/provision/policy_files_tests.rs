//! The IAM policy files in `deploy/` against the calls `setup` and `check` make.

fn policy_actions(file: &str) -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(file);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let statements = doc["Statement"].as_array().unwrap();
    let actions = statements.iter().flat_map(|s| match &s["Action"] {
        serde_json::Value::String(a) => vec![a.clone()],
        v => v
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect(),
    });
    actions.collect()
}

/// The IAM actions behind every call each command makes (see `aws_calls`).
#[test]
fn iam_policies_grant_what_the_commands_call_and_check_only_reads() {
    let check = [
        "s3:ListBucket",
        "s3:GetBucketNotification",
        "sqs:GetQueueUrl",
        "sqs:GetQueueAttributes",
        "sns:GetTopicAttributes",
        "sns:ListSubscriptionsByTopic",
        "sns:GetSubscriptionAttributes",
    ];
    let setup_writes = [
        "s3:PutBucketNotification",
        "sqs:CreateQueue",
        "sqs:SetQueueAttributes",
        "sns:CreateTopic",
        "sns:SetTopicAttributes",
        "sns:Subscribe",
    ];
    let granted = policy_actions("iam-check-policy.json");
    for a in check {
        assert!(
            granted.iter().any(|g| g == a),
            "iam-check-policy.json lacks {a}"
        );
    }
    for g in &granted {
        assert!(
            check.contains(&g.as_str()),
            "iam-check-policy.json grants {g}, which check does not use"
        );
    }
    let granted = policy_actions("iam-setup-policy.json");
    let setup_reads = check.iter().filter(|a| **a != "s3:ListBucket"); // setup makes no HeadBucket
    for a in setup_reads.chain(setup_writes.iter()) {
        assert!(
            granted.iter().any(|g| g == a),
            "iam-setup-policy.json lacks {a}"
        );
    }
}
