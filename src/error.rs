//! Errors are data: every failure a client can see is an [`ApiError`] whose [`ErrorCode`] is spelled
//! exactly as AWS spells it. The protocol codecs render it (XML for awsQuery, JSON for awsJson) in one
//! place each; actions never format errors themselves.

use std::fmt;

/// Who is at fault, as the `<Type>` element of awsQuery errors and the `;Sender` suffix of
/// `x-amzn-query-error` tell clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Sender,
    Receiver,
}

/// Every error code ferry returns. Each variant knows its awsJson shape name, its legacy awsQuery
/// code and its HTTP status, so both protocols agree by construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    // Common to every service.
    InvalidAction,
    UnknownOperation,
    MissingParameter,
    InvalidParameterValue,
    InvalidParameterCombination,
    InvalidQueryParameter,
    MalformedQueryString,
    SerializationException,
    RequestEntityTooLarge,
    AccessDenied,
    InternalFailure,
    // SQS, from the botocore model (awsQueryCompatible codes in the comments of `legacy_code`).
    QueueDoesNotExist,
    QueueNameExists,
    QueueDeletedRecently,
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidMessageContents,
    ReceiptHandleIsInvalid,
    MessageNotInflight,
    PurgeQueueInProgress,
    OverLimit,
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    TooManyEntriesInBatchRequest,
    UnsupportedOperation,
    ResourceNotFoundException,
    InvalidAddress,
    InvalidSecurity,
    // EventBridge.
    InvalidEventPatternException,
    ValidationException,
    // STS.
    ValidationError,
    /// EventBridge's `ResourceNotFoundException`, which AWS answers with 400 (SQS's is 404).
    EventsResourceNotFound,
    ResourceAlreadyExistsException,
    LimitExceededException,
    ManagedRuleException,
    OperationDisabledException,
    PolicyLengthExceededException,
    IllegalStatusException,
    // SNS, from the botocore model (codes as AWS answers them).
    NotFound,
    InvalidParameter,
    ParameterValueInvalid,
    AuthorizationError,
    EndpointDisabled,
    ResourceNotFound,
}

impl ErrorCode {
    /// The shape name used in awsJson `__type` (SQS prefixes it with `com.amazonaws.sqs#`).
    pub fn shape_name(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidAction => "InvalidAction",
            UnknownOperation => "UnknownOperationException",
            MissingParameter => "MissingParameter",
            InvalidParameterValue => "InvalidParameterValue",
            InvalidParameterCombination => "InvalidParameterCombination",
            InvalidQueryParameter => "InvalidQueryParameter",
            MalformedQueryString => "MalformedQueryString",
            SerializationException => "SerializationException",
            RequestEntityTooLarge => "RequestEntityTooLarge",
            AccessDenied => "AccessDenied",
            InternalFailure => "InternalFailure",
            QueueDoesNotExist => "QueueDoesNotExist",
            QueueNameExists => "QueueNameExists",
            QueueDeletedRecently => "QueueDeletedRecently",
            InvalidAttributeName => "InvalidAttributeName",
            InvalidAttributeValue => "InvalidAttributeValue",
            InvalidMessageContents => "InvalidMessageContents",
            ReceiptHandleIsInvalid => "ReceiptHandleIsInvalid",
            MessageNotInflight => "MessageNotInflight",
            PurgeQueueInProgress => "PurgeQueueInProgress",
            OverLimit => "OverLimit",
            BatchEntryIdsNotDistinct => "BatchEntryIdsNotDistinct",
            BatchRequestTooLong => "BatchRequestTooLong",
            EmptyBatchRequest => "EmptyBatchRequest",
            InvalidBatchEntryId => "InvalidBatchEntryId",
            TooManyEntriesInBatchRequest => "TooManyEntriesInBatchRequest",
            UnsupportedOperation => "UnsupportedOperation",
            ResourceNotFoundException => "ResourceNotFoundException",
            InvalidAddress => "InvalidAddress",
            InvalidSecurity => "InvalidSecurity",
            InvalidEventPatternException => "InvalidEventPatternException",
            ValidationException => "ValidationException",
            ValidationError => "ValidationError",
            EventsResourceNotFound => "ResourceNotFoundException",
            ResourceAlreadyExistsException => "ResourceAlreadyExistsException",
            LimitExceededException => "LimitExceededException",
            ManagedRuleException => "ManagedRuleException",
            OperationDisabledException => "OperationDisabledException",
            PolicyLengthExceededException => "PolicyLengthExceededException",
            IllegalStatusException => "IllegalStatusException",
            NotFound => "NotFound",
            InvalidParameter => "InvalidParameter",
            ParameterValueInvalid => "ParameterValueInvalid",
            AuthorizationError => "AuthorizationError",
            EndpointDisabled => "EndpointDisabled",
            ResourceNotFound => "ResourceNotFound",
        }
    }

    /// The code SQS's awsQuery clients see in `<Code>` and awsJson clients in `x-amzn-query-error`
    /// (from the last botocore SQS model that spoke awsQuery). Other services answer `shape_name`.
    pub fn legacy_code(self) -> &'static str {
        use ErrorCode::*;
        match self {
            QueueDoesNotExist => "AWS.SimpleQueueService.NonExistentQueue",
            QueueNameExists => "QueueAlreadyExists",
            QueueDeletedRecently => "AWS.SimpleQueueService.QueueDeletedRecently",
            MessageNotInflight => "AWS.SimpleQueueService.MessageNotInflight",
            PurgeQueueInProgress => "AWS.SimpleQueueService.PurgeQueueInProgress",
            BatchEntryIdsNotDistinct => "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            BatchRequestTooLong => "AWS.SimpleQueueService.BatchRequestTooLong",
            EmptyBatchRequest => "AWS.SimpleQueueService.EmptyBatchRequest",
            InvalidBatchEntryId => "AWS.SimpleQueueService.InvalidBatchEntryId",
            TooManyEntriesInBatchRequest => "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            UnsupportedOperation => "AWS.SimpleQueueService.UnsupportedOperation",
            UnknownOperation => "InvalidAction",
            other => other.shape_name(),
        }
    }

    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            OverLimit | PurgeQueueInProgress | AccessDenied | InvalidSecurity
            | AuthorizationError => 403,
            ResourceNotFoundException | NotFound | ResourceNotFound => 404,
            RequestEntityTooLarge => 413,
            InternalFailure => 500,
            _ => 400,
        }
    }

    pub fn fault(self) -> Fault {
        match self {
            ErrorCode::InternalFailure => Fault::Receiver,
            _ => Fault::Sender,
        }
    }
}

/// A client-visible failure: a code and AWS's message text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// `MissingParameter` with AWS's wording.
    pub fn missing(param: &str) -> Self {
        Self::new(
            ErrorCode::MissingParameter,
            format!("The request must contain the parameter {param}."),
        )
    }

    /// `InvalidParameterValue` with AWS's "Value X for parameter Y is invalid. Reason: Z." wording.
    pub fn invalid_value(param: &str, value: impl fmt::Display, reason: &str) -> Self {
        Self::new(
            ErrorCode::InvalidParameterValue,
            format!("Value {value} for parameter {param} is invalid. Reason: {reason}"),
        )
    }

    /// Log an internal failure once and hide its details from the client.
    pub fn internal(context: &str, err: impl fmt::Display) -> Self {
        tracing::error!(%err, "{context}");
        Self::new(
            ErrorCode::InternalFailure,
            "We encountered an internal error. Please try again.",
        )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.shape_name(), self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::ErrorCode::*;
    use super::*;

    /// Every error of the SQS model, with the awsQuery code and HTTP status of the last botocore
    /// model that spoke awsQuery (1.31.0).
    #[test]
    fn sqs_codes_match_the_model() {
        let model = [
            (
                BatchEntryIdsNotDistinct,
                "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                400,
            ),
            (
                BatchRequestTooLong,
                "AWS.SimpleQueueService.BatchRequestTooLong",
                400,
            ),
            (
                EmptyBatchRequest,
                "AWS.SimpleQueueService.EmptyBatchRequest",
                400,
            ),
            (InvalidAttributeName, "InvalidAttributeName", 400),
            (InvalidAttributeValue, "InvalidAttributeValue", 400),
            (
                InvalidBatchEntryId,
                "AWS.SimpleQueueService.InvalidBatchEntryId",
                400,
            ),
            (InvalidMessageContents, "InvalidMessageContents", 400),
            (
                MessageNotInflight,
                "AWS.SimpleQueueService.MessageNotInflight",
                400,
            ),
            (OverLimit, "OverLimit", 403),
            (
                PurgeQueueInProgress,
                "AWS.SimpleQueueService.PurgeQueueInProgress",
                403,
            ),
            (
                QueueDeletedRecently,
                "AWS.SimpleQueueService.QueueDeletedRecently",
                400,
            ),
            (
                QueueDoesNotExist,
                "AWS.SimpleQueueService.NonExistentQueue",
                400,
            ),
            (QueueNameExists, "QueueAlreadyExists", 400),
            (ReceiptHandleIsInvalid, "ReceiptHandleIsInvalid", 400),
            (ResourceNotFoundException, "ResourceNotFoundException", 404),
            (
                TooManyEntriesInBatchRequest,
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                400,
            ),
            (
                UnsupportedOperation,
                "AWS.SimpleQueueService.UnsupportedOperation",
                400,
            ),
            (InvalidAddress, "InvalidAddress", 400),
            (InvalidSecurity, "InvalidSecurity", 403),
        ];
        for (code, legacy, status) in model {
            assert_eq!(code.legacy_code(), legacy, "{code:?}");
            assert_eq!(code.status(), status, "{code:?}");
            assert_eq!(code.fault(), Fault::Sender, "{code:?}");
        }
        assert_eq!(InternalFailure.status(), 500);
        assert_eq!(InternalFailure.fault(), Fault::Receiver);
        assert_eq!(UnknownOperation.legacy_code(), "InvalidAction");
    }
}
