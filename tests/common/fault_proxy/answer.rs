//! Error answers shaped as each service's SDK parses them: S3 XML, SQS JSON, SNS
//! query-protocol XML.

use super::Seen;

/// A complete response: status line and headers (each ending in CRLF), and the body.
pub(super) type Response = (String, Vec<u8>);

/// An error answer in the shape the calling service's SDK parses.
pub(super) fn error_response(req: &Seen, status: u16, code: Option<&str>) -> Response {
    let json = req.amz_target.is_some();
    let query = req.form_body;
    let s3 = !json && !query;
    let code = code.map(str::to_owned).unwrap_or_else(|| {
        match status {
            400 if s3 => "InvalidRequest",
            400 => "InvalidParameterValue",
            403 if query => "AuthorizationError", // SNS's word for it
            403 => "AccessDenied",
            404 if s3 => "NoSuchKey",
            404 => "QueueDoesNotExist",
            405 => "MethodNotAllowed",
            409 => "OperationAborted",
            412 => "PreconditionFailed",
            429 | 503 if s3 => "SlowDown",
            429 => "ThrottlingException",
            503 => "ServiceUnavailable",
            500 if s3 => "InternalError",
            s if s >= 500 => "InternalFailure",
            _ => "BadRequest",
        }
        .to_owned()
    });
    let msg = format!("injected by fault proxy ({status} {code})");
    let fault = if status >= 500 { "Receiver" } else { "Sender" };
    let mut head = format!("HTTP/1.1 {status} Injected\r\nx-amz-request-id: fault-proxy\r\n");
    let body = if json {
        let sqs = req
            .amz_target
            .as_deref()
            .unwrap_or_default()
            .starts_with("AmazonSQS");
        let ns = if sqs {
            "com.amazonaws.sqs"
        } else {
            "com.amazonaws"
        };
        head.push_str("Content-Type: application/x-amz-json-1.0\r\n");
        head.push_str(&format!("x-amzn-query-error: {code};{fault}\r\n"));
        serde_json::json!({"__type": format!("{ns}#{code}"), "message": msg}).to_string()
    } else if query {
        head.push_str("Content-Type: text/xml\r\n");
        format!(
            "<ErrorResponse><Error><Type>{fault}</Type><Code>{code}</Code><Message>{msg}</Message>\
             </Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
        )
    } else {
        head.push_str("Content-Type: application/xml\r\n");
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{msg}</Message><RequestId>fault-proxy</RequestId></Error>"
        )
    };
    let body = if req.method == "HEAD" {
        Vec::new()
    } else {
        body.into_bytes()
    };
    head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    (head, body)
}
