// The Amazon S3 error-code table (code, HTTP status, default message), from the
// "List of error codes" section of the Amazon S3 API Reference, "Error responses" page:
// https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#ErrorCodeList
// Revision used: the late-2024/2025 page (it lists ConditionalRequestConflict, paginated
// ListBuckets and TagPolicyException), read via the crawl in Nugine/s3s data/s3_error_codes.json.
// Messages are the page's descriptions cut to their first sentence (reference links dropped);
// where the page only lists reasons (InvalidArgument, InvalidRequest, ...) the message is generic
// and callers should pass a specific one. Codes the page omits but S3 returns are at the end.
extension S3ErrorCode {
    /// Returned when ACLs are set on a bucket whose Object Ownership is BucketOwnerEnforced.
    public static let accessControlListNotSupported = S3ErrorCode("AccessControlListNotSupported", status: 400, message: "The bucket does not allow ACLs.")
    public static let accessDenied = S3ErrorCode("AccessDenied", status: 403, message: "Access Denied")
    public static let accessPointAlreadyOwnedByYou = S3ErrorCode("AccessPointAlreadyOwnedByYou", status: 409, message: "An access point with an identical name already exists in your account.")
    public static let accountProblem = S3ErrorCode("AccountProblem", status: 403, message: "There is a problem with your AWS account that prevents the operation from completing successfully.")
    public static let allAccessDisabled = S3ErrorCode("AllAccessDisabled", status: 403, message: "All access to this Amazon S3 resource has been disabled.")
    public static let ambiguousGrantByEmailAddress = S3ErrorCode("AmbiguousGrantByEmailAddress", status: 400, message: "The email address that you provided is associated with more than one account.")
    public static let authorizationHeaderMalformed = S3ErrorCode("AuthorizationHeaderMalformed", status: 400, message: "The authorization header that you provided is not valid.")
    /// Presigned-URL (query-string SigV4) parameters are malformed or incomplete.
    public static let authorizationQueryParametersError = S3ErrorCode("AuthorizationQueryParametersError", status: 400, message: "The authorization query parameters that you provided are not valid.")
    public static let badDigest = S3ErrorCode("BadDigest", status: 400, message: "The Content-MD5 or checksum value that you specified did not match what the server received.")
    /// The name is taken by another account (the namespace is shared by all users).
    public static let bucketAlreadyExists = S3ErrorCode("BucketAlreadyExists", status: 409, message: "The requested bucket name is not available.")
    /// S3 returns this everywhere except us-east-1, where re-creating your own bucket answers 200 OK.
    public static let bucketAlreadyOwnedByYou = S3ErrorCode("BucketAlreadyOwnedByYou", status: 409, message: "The bucket that you tried to create already exists, and you own it.")
    public static let bucketHasAccessPointsAttached = S3ErrorCode("BucketHasAccessPointsAttached", status: 400, message: "The bucket you tried to delete has access points attached.")
    public static let bucketNotEmpty = S3ErrorCode("BucketNotEmpty", status: 409, message: "The bucket that you tried to delete is not empty.")
    public static let clientTokenConflict = S3ErrorCode("ClientTokenConflict", status: 409, message: "Your Multi-Region Access Point idempotency token was already used for a different request.")
    /// Conditional write (If-Match / If-None-Match) lost a race; PutObject may retry, a multipart upload must restart.
    public static let conditionalRequestConflict = S3ErrorCode("ConditionalRequestConflict", status: 409, message: "A conflicting operation occurred.")
    /// Object Lambda: returned to the original caller.
    public static let connectionClosedByRequester = S3ErrorCode("ConnectionClosedByRequester", status: 400, message: "An error was encountered while reading the WriteGetObjectResponse body.")
    public static let credentialsNotSupported = S3ErrorCode("CredentialsNotSupported", status: 400, message: "This request does not support credentials.")
    public static let crossLocationLoggingProhibited = S3ErrorCode("CrossLocationLoggingProhibited", status: 403, message: "Cross-Region logging is not allowed.")
    public static let deviceNotActiveError = S3ErrorCode("DeviceNotActiveError", status: 400, message: "The device is not currently active.")
    public static let endpointNotFound = S3ErrorCode("EndpointNotFound", status: 400, message: "Direct requests to the correct endpoint.")
    public static let entityTooLarge = S3ErrorCode("EntityTooLarge", status: 400, message: "Your proposed upload exceeds the maximum allowed object size.")
    /// CompleteMultipartUpload with a non-final part under 5 MiB.
    public static let entityTooSmall = S3ErrorCode("EntityTooSmall", status: 400, message: "Your proposed upload is smaller than the minimum allowed object size.")
    public static let expiredToken = S3ErrorCode("ExpiredToken", status: 400, message: "The provided token has expired.")
    /// Bucket accessed from, or created with a LocationConstraint for, a Region other than the endpoint's.
    public static let illegalLocationConstraintException = S3ErrorCode("IllegalLocationConstraintException", status: 400, message: "The location constraint is incompatible with the Region-specific endpoint this request was sent to.")
    public static let illegalVersioningConfigurationException = S3ErrorCode("IllegalVersioningConfigurationException", status: 400, message: "The versioning configuration specified in the request is not valid.")
    public static let incompleteBody = S3ErrorCode("IncompleteBody", status: 400, message: "You did not provide the number of bytes specified by the Content-Length HTTP header.")
    public static let incorrectEndpoint = S3ErrorCode("IncorrectEndpoint", status: 400, message: "The specified bucket exists in another Region.")
    public static let incorrectNumberOfFilesInPostRequest = S3ErrorCode("IncorrectNumberOfFilesInPostRequest", status: 400, message: "POST requires exactly one file upload per request.")
    public static let inlineDataTooLarge = S3ErrorCode("InlineDataTooLarge", status: 400, message: "The inline data exceeds the maximum allowed size.")
    public static let internalError = S3ErrorCode("InternalError", status: 500, message: "An internal error occurred.")
    public static let invalidAccessKeyId = S3ErrorCode("InvalidAccessKeyId", status: 403, message: "The AWS access key ID that you provided does not exist in our records.")
    public static let invalidAccessPoint = S3ErrorCode("InvalidAccessPoint", status: 400, message: "The specified access point name or account is not valid.")
    public static let invalidAccessPointAliasError = S3ErrorCode("InvalidAccessPointAliasError", status: 400, message: "The specified access point alias name is not valid.")
    /// SOAP only; the page gives no HTTP status (N/A), 400 is our choice.
    public static let invalidAddressingHeader = S3ErrorCode("InvalidAddressingHeader", status: 400, message: "You must specify the Anonymous role.")
    /// Usually thrown with a specific message and ArgumentName/ArgumentValue fields.
    public static let invalidArgument = S3ErrorCode("InvalidArgument", status: 400, message: "The specified argument was not valid.")
    public static let invalidBucketAclWithObjectOwnership = S3ErrorCode("InvalidBucketAclWithObjectOwnership", status: 400, message: "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting")
    public static let invalidBucketName = S3ErrorCode("InvalidBucketName", status: 400, message: "The specified bucket is not valid.")
    public static let invalidBucketOwnerAWSAccountID = S3ErrorCode("InvalidBucketOwnerAWSAccountID", status: 400, message: "The value of the expected bucket owner parameter must be an AWS account ID.")
    public static let invalidBucketState = S3ErrorCode("InvalidBucketState", status: 409, message: "The request is not valid for the current state of the bucket.")
    public static let invalidDigest = S3ErrorCode("InvalidDigest", status: 400, message: "The Content-MD5 or checksum value that you specified is not valid.")
    /// The valid value is AES256.
    public static let invalidEncryptionAlgorithmError = S3ErrorCode("InvalidEncryptionAlgorithmError", status: 400, message: "The encryption request that you specified is not valid.")
    public static let invalidHostHeader = S3ErrorCode("InvalidHostHeader", status: 400, message: "The host headers provided in the request used the incorrect style addressing.")
    public static let invalidHttpMethod = S3ErrorCode("InvalidHttpMethod", status: 400, message: "The request is made using an unexpected HTTP method.")
    public static let invalidLocationConstraint = S3ErrorCode("InvalidLocationConstraint", status: 400, message: "The specified location (Region) constraint is not valid.")
    /// For example GetObject on an archived (Glacier) object that has not been restored.
    public static let invalidObjectState = S3ErrorCode("InvalidObjectState", status: 403, message: "The operation is not valid for the current state of the object.")
    /// The part was not uploaded, or its ETag did not match the one in CompleteMultipartUpload.
    public static let invalidPart = S3ErrorCode("InvalidPart", status: 400, message: "One or more of the specified parts could not be found.")
    public static let invalidPartOrder = S3ErrorCode("InvalidPartOrder", status: 400, message: "The list of parts was not in ascending order.")
    public static let invalidPayer = S3ErrorCode("InvalidPayer", status: 403, message: "All access to this object has been disabled.")
    /// Browser-based POST upload whose fields violate the signed policy.
    public static let invalidPolicyDocument = S3ErrorCode("InvalidPolicyDocument", status: 400, message: "The content of the form does not meet the conditions specified in the policy document.")
    public static let invalidRange = S3ErrorCode("InvalidRange", status: 416, message: "The requested range cannot be satisfied.")
    public static let invalidRegion = S3ErrorCode("InvalidRegion", status: 403, message: "You've attempted to create a Multi-Region Access Point in a Region that you haven't opted in to.")
    /// Catch-all for many cases (wrong signature version, conflicting header/query values, CopyObject over 5 GB, ...); throw with a specific message.
    public static let invalidRequest = S3ErrorCode("InvalidRequest", status: 400, message: "Invalid Request")
    public static let invalidSOAPRequest = S3ErrorCode("InvalidSOAPRequest", status: 400, message: "The SOAP request body is not valid.")
    public static let invalidSecurity = S3ErrorCode("InvalidSecurity", status: 403, message: "The provided security credentials are not valid.")
    public static let invalidSessionException = S3ErrorCode("InvalidSessionException", status: 400, message: "The session doesn't exist anymore because it timed out or expired.")
    /// Documented as 400; for SigV4 mismatches S3 answers 403 SignatureDoesNotMatch.
    public static let invalidSignature = S3ErrorCode("InvalidSignature", status: 400, message: "The request signature that the server calculated does not match the signature that you provided.")
    public static let invalidStorageClass = S3ErrorCode("InvalidStorageClass", status: 400, message: "The storage class that you specified is not valid.")
    /// Duplicate keys, keys or values too long, or system (aws:) tags.
    public static let invalidTag = S3ErrorCode("InvalidTag", status: 400, message: "Your request contains tag input that is not valid.")
    public static let invalidTargetBucketForLogging = S3ErrorCode("InvalidTargetBucketForLogging", status: 400, message: "The target bucket for logging either does not exist, is not owned by you, or does not have the appropriate grants for the log-delivery group.")
    public static let invalidToken = S3ErrorCode("InvalidToken", status: 400, message: "The provided token is malformed or otherwise not valid.")
    public static let invalidURI = S3ErrorCode("InvalidURI", status: 400, message: "The specified URI couldn't be parsed.")
    public static let kmsDisabledException = S3ErrorCode("KMS.DisabledException", status: 400, message: "The request was rejected because the specified KMS key is not enabled.")
    public static let kmsInvalidKeyUsageException = S3ErrorCode("KMS.InvalidKeyUsageException", status: 400, message: "The request was rejected because the KeyUsage value of the KMS key is incompatible with the API operation.")
    public static let kmsInvalidStateException = S3ErrorCode("KMS.KMSInvalidStateException", status: 400, message: "The request was rejected because the state of the specified resource is not valid for this request.")
    public static let kmsNotFoundException = S3ErrorCode("KMS.NotFoundException", status: 400, message: "The request was rejected because the specified entity or resource could not be found.")
    /// Object keys are limited to 1024 bytes of UTF-8.
    public static let keyTooLongError = S3ErrorCode("KeyTooLongError", status: 400, message: "Your key is too long.")
    public static let malformedACLError = S3ErrorCode("MalformedACLError", status: 400, message: "The ACL that you provided was not well formed or did not validate against our published schema.")
    public static let malformedPOSTRequest = S3ErrorCode("MalformedPOSTRequest", status: 400, message: "The body of your POST request is not well-formed multipart/form-data.")
    /// S3 also sends this code for unparsable policies, e.g. "Policies must be valid JSON and the first byte must be '{'".
    public static let malformedPolicy = S3ErrorCode("MalformedPolicy", status: 400, message: "Your policy contains a principal that is not valid.")
    public static let malformedXML = S3ErrorCode("MalformedXML", status: 400, message: "The XML you provided was not well-formed or did not validate against our published schema.")
    public static let maxMessageLengthExceeded = S3ErrorCode("MaxMessageLengthExceeded", status: 400, message: "Your request was too large.")
    public static let maxPostPreDataLengthExceededError = S3ErrorCode("MaxPostPreDataLengthExceededError", status: 400, message: "Your POST request fields preceding the upload file were too large.")
    /// User metadata (x-amz-meta-*) is limited to 2 KB.
    public static let metadataTooLarge = S3ErrorCode("MetadataTooLarge", status: 400, message: "Your metadata headers exceed the maximum allowed metadata size.")
    public static let methodNotAllowed = S3ErrorCode("MethodNotAllowed", status: 405, message: "The specified method is not allowed against this resource.")
    public static let missingAttachment = S3ErrorCode("MissingAttachment", status: 400, message: "A SOAP attachment was expected, but none was found.")
    public static let missingAuthenticationToken = S3ErrorCode("MissingAuthenticationToken", status: 403, message: "The request was not signed.")
    public static let missingContentLength = S3ErrorCode("MissingContentLength", status: 411, message: "You must provide the Content-Length HTTP header.")
    /// An empty XML document was sent where a body is required.
    public static let missingRequestBodyError = S3ErrorCode("MissingRequestBodyError", status: 400, message: "Request body is empty.")
    public static let missingSecurityElement = S3ErrorCode("MissingSecurityElement", status: 400, message: "The SOAP 1.1 request is missing a security element.")
    public static let missingSecurityHeader = S3ErrorCode("MissingSecurityHeader", status: 400, message: "Your request is missing a required header.")
    public static let noLoggingStatusForKey = S3ErrorCode("NoLoggingStatusForKey", status: 400, message: "There is no such thing as a logging status subresource for a key.")
    public static let noSuchAccessPoint = S3ErrorCode("NoSuchAccessPoint", status: 404, message: "The specified access point does not exist.")
    public static let noSuchAsyncRequest = S3ErrorCode("NoSuchAsyncRequest", status: 404, message: "The specified request was not found.")
    public static let noSuchBucket = S3ErrorCode("NoSuchBucket", status: 404, message: "The specified bucket does not exist.")
    public static let noSuchBucketPolicy = S3ErrorCode("NoSuchBucketPolicy", status: 404, message: "The specified bucket does not have a bucket policy.")
    public static let noSuchCORSConfiguration = S3ErrorCode("NoSuchCORSConfiguration", status: 404, message: "The specified bucket does not have a CORS configuration.")
    public static let noSuchKey = S3ErrorCode("NoSuchKey", status: 404, message: "The specified key does not exist.")
    public static let noSuchLifecycleConfiguration = S3ErrorCode("NoSuchLifecycleConfiguration", status: 404, message: "The specified lifecycle configuration does not exist.")
    public static let noSuchMultiRegionAccessPoint = S3ErrorCode("NoSuchMultiRegionAccessPoint", status: 404, message: "The specified Multi-Region Access Point does not exist.")
    public static let noSuchObjectLockConfiguration = S3ErrorCode("NoSuchObjectLockConfiguration", status: 404, message: "The specified object does not have an ObjectLock configuration.")
    /// GetBucketTagging on a bucket without tags.
    public static let noSuchTagSet = S3ErrorCode("NoSuchTagSet", status: 404, message: "The specified tag does not exist.")
    /// The upload ID might not be valid, or the upload was aborted or completed.
    public static let noSuchUpload = S3ErrorCode("NoSuchUpload", status: 404, message: "The specified multipart upload does not exist.")
    public static let noSuchVersion = S3ErrorCode("NoSuchVersion", status: 404, message: "The version ID specified in the request does not match an existing version.")
    public static let noSuchWebsiteConfiguration = S3ErrorCode("NoSuchWebsiteConfiguration", status: 404, message: "The specified bucket does not have a website configuration.")
    public static let noTransformationDefined = S3ErrorCode("NoTransformationDefined", status: 404, message: "No transformation found for this Object Lambda Access Point.")
    public static let notDeviceOwnerError = S3ErrorCode("NotDeviceOwnerError", status: 400, message: "The device that generated the token is not owned by the authenticated user.")
    public static let notImplemented = S3ErrorCode("NotImplemented", status: 501, message: "A header you provided implies functionality that is not implemented.")
    /// Conditional GET/HEAD (If-None-Match, If-Modified-Since); a 304 response carries no body.
    public static let notModified = S3ErrorCode("NotModified", status: 304, message: "The resource was not changed.")
    public static let notSignedUp = S3ErrorCode("NotSignedUp", status: 403, message: "Your account is not signed up for the Amazon S3 service.")
    public static let objectLockConfigurationNotFoundError = S3ErrorCode("ObjectLockConfigurationNotFoundError", status: 404, message: "The Object Lock configuration does not exist for this bucket.")
    /// Try again.
    public static let operationAborted = S3ErrorCode("OperationAborted", status: 409, message: "A conflicting conditional operation is currently in progress against this resource.")
    public static let ownershipControlsNotFoundError = S3ErrorCode("OwnershipControlsNotFoundError", status: 404, message: "The bucket ownership controls were not found.")
    /// Send all future requests to the endpoint named in the error's Endpoint field.
    public static let permanentRedirect = S3ErrorCode("PermanentRedirect", status: 301, message: "The bucket that you are attempting to access must be addressed using the specified endpoint.")
    public static let permanentRedirectControlError = S3ErrorCode("PermanentRedirectControlError", status: 301, message: "The API operation you are attempting to access must be addressed using the specified endpoint.")
    /// If-Match / If-Unmodified-Since failed; S3 adds a Condition field naming the header.
    public static let preconditionFailed = S3ErrorCode("PreconditionFailed", status: 412, message: "At least one of the preconditions that you specified did not hold.")
    public static let redirect = S3ErrorCode("Redirect", status: 307, message: "Temporary redirect.")
    public static let requestHeaderSectionTooLarge = S3ErrorCode("RequestHeaderSectionTooLarge", status: 400, message: "The request header and query parameters used to make the request exceed the maximum allowed size.")
    /// The current page documents 412; older revisions said 400.
    public static let requestIsNotMultiPartContent = S3ErrorCode("RequestIsNotMultiPartContent", status: 412, message: "A bucket POST request must be of the enclosure-type multipart/form-data.")
    public static let requestTimeTooSkewed = S3ErrorCode("RequestTimeTooSkewed", status: 403, message: "The difference between the request time and the server's time is too large.")
    public static let requestTimeout = S3ErrorCode("RequestTimeout", status: 400, message: "Your socket connection to the server was not read from or written to within the timeout period.")
    public static let requestTorrentOfBucketError = S3ErrorCode("RequestTorrentOfBucketError", status: 400, message: "Requesting the torrent file of a bucket is not permitted.")
    /// Object Lambda: returned to the original caller.
    public static let responseInterrupted = S3ErrorCode("ResponseInterrupted", status: 400, message: "An error was encountered while reading the WriteGetObjectResponse body.")
    public static let restoreAlreadyInProgress = S3ErrorCode("RestoreAlreadyInProgress", status: 409, message: "The object restore is already in progress.")
    /// Documented as 400; GetBucketEncryption on live S3 has been seen answering 404.
    public static let serverSideEncryptionConfigurationNotFoundError = S3ErrorCode("ServerSideEncryptionConfigurationNotFoundError", status: 400, message: "The server-side encryption configuration was not found.")
    public static let serviceUnavailable = S3ErrorCode("ServiceUnavailable", status: 503, message: "Service is unable to handle request.")
    /// Check the secret access key and signing method.
    public static let signatureDoesNotMatch = S3ErrorCode("SignatureDoesNotMatch", status: 403, message: "The request signature that the server calculated does not match the signature that you provided.")
    public static let slowDown = S3ErrorCode("SlowDown", status: 503, message: "Please reduce your request rate.")
    public static let tagPolicyException = S3ErrorCode("TagPolicyException", status: 400, message: "The tag policy does not allow the specified value for the following tag key.")
    public static let temporaryRedirect = S3ErrorCode("TemporaryRedirect", status: 307, message: "You are being redirected to the bucket while the Domain Name System (DNS) server is being updated.")
    /// MFA Delete.
    public static let tokenCodeInvalidError = S3ErrorCode("TokenCodeInvalidError", status: 400, message: "The serial number and/or token code you provided is not valid.")
    public static let tokenRefreshRequired = S3ErrorCode("TokenRefreshRequired", status: 400, message: "The provided token must be refreshed.")
    public static let tooManyAccessPoints = S3ErrorCode("TooManyAccessPoints", status: 400, message: "You have attempted to create more access points than are allowed for an account.")
    public static let tooManyBuckets = S3ErrorCode("TooManyBuckets", status: 400, message: "You have attempted to create more buckets than are allowed for an account.")
    /// The lowercase 'r' in the code is AWS's spelling.
    public static let tooManyMultiRegionAccessPointregionsError = S3ErrorCode("TooManyMultiRegionAccessPointregionsError", status: 400, message: "You have attempted to create a Multi-Region Access Point with more Regions than are allowed for an account.")
    public static let tooManyMultiRegionAccessPoints = S3ErrorCode("TooManyMultiRegionAccessPoints", status: 400, message: "You have attempted to create more Multi-Region Access Points than are allowed for an account.")
    /// China Regions only.
    public static let unauthorizedAccessError = S3ErrorCode("UnauthorizedAccessError", status: 403, message: "The request was made to a bucket that doesn't have an ICP license.")
    public static let unexpectedContent = S3ErrorCode("UnexpectedContent", status: 400, message: "This request contains unsupported content.")
    /// China Regions only.
    public static let unexpectedIPError = S3ErrorCode("UnexpectedIPError", status: 403, message: "This request was rejected because the IP was unexpected.")
    public static let unresolvableGrantByEmailAddress = S3ErrorCode("UnresolvableGrantByEmailAddress", status: 400, message: "The email address that you provided does not match any account on record.")
    public static let unsupportedArgument = S3ErrorCode("UnsupportedArgument", status: 400, message: "The request contained an unsupported argument.")
    public static let unsupportedSignature = S3ErrorCode("UnsupportedSignature", status: 400, message: "The provided request is signed with an unsupported STS Token version or the signature version is not supported.")
    /// If it is specified, check the order of the fields.
    public static let userKeyMustBeSpecified = S3ErrorCode("UserKeyMustBeSpecified", status: 400, message: "The bucket POST request must contain the specified field name.")

    // MARK: Returned by S3 but not in the main "List of error codes" table

    /// From the page's replication-related list: GetBucketReplication on a bucket without one.
    public static let replicationConfigurationNotFoundError = S3ErrorCode("ReplicationConfigurationNotFoundError", status: 404, message: "There is no replication configuration for this bucket.")
    /// SigV4 payload hash differs from the body received.
    public static let xAmzContentSHA256Mismatch = S3ErrorCode("XAmzContentSHA256Mismatch", status: 400, message: "The provided 'x-amz-content-sha256' header does not match what was computed.")
    /// aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) upload with a short non-final chunk.
    public static let invalidChunkSizeError = S3ErrorCode("InvalidChunkSizeError", status: 403, message: "Only the last chunk is allowed to have a size less than 8192 bytes")
    /// Preflight (OPTIONS) refused: no CORS configuration, or no rule matches.
    public static let corsResponse = S3ErrorCode("CORSResponse", status: 403, message: "CORS is not enabled for this bucket.")
    /// Generic 400 for requests S3 cannot parse at the HTTP level.
    public static let badRequest = S3ErrorCode("BadRequest", status: 400, message: "Bad Request")

    /// Every code above, for lookups by name (tests, logging).
    /// A `partNumber` beyond the object's parts (GetObject/HeadObject).
    public static let invalidPartNumber = S3ErrorCode("InvalidPartNumber", status: 416, message: "The requested partnumber is not satisfiable")
    /// The disk is full. Not an S3 code (S3 has no full disks); WebDAV's 507 says it exactly.
    public static let insufficientStorage = S3ErrorCode("InsufficientStorage", status: 507, message: "The server has run out of storage space for this request.")

    /// A malformed aws-chunked trailer.
    public static let malformedTrailerError = S3ErrorCode("MalformedTrailerError", status: 400, message: "The request contained trailing data that was not well-formed or did not conform to our published schema.")

    public static let allKnown: [S3ErrorCode] = [
        .accessControlListNotSupported,
        .accessDenied,
        .accessPointAlreadyOwnedByYou,
        .accountProblem,
        .allAccessDisabled,
        .ambiguousGrantByEmailAddress,
        .authorizationHeaderMalformed,
        .authorizationQueryParametersError,
        .badDigest,
        .bucketAlreadyExists,
        .bucketAlreadyOwnedByYou,
        .bucketHasAccessPointsAttached,
        .bucketNotEmpty,
        .clientTokenConflict,
        .conditionalRequestConflict,
        .connectionClosedByRequester,
        .credentialsNotSupported,
        .crossLocationLoggingProhibited,
        .deviceNotActiveError,
        .endpointNotFound,
        .entityTooLarge,
        .entityTooSmall,
        .expiredToken,
        .illegalLocationConstraintException,
        .illegalVersioningConfigurationException,
        .incompleteBody,
        .incorrectEndpoint,
        .incorrectNumberOfFilesInPostRequest,
        .inlineDataTooLarge,
        .internalError,
        .invalidAccessKeyId,
        .invalidAccessPoint,
        .invalidAccessPointAliasError,
        .invalidAddressingHeader,
        .invalidArgument,
        .invalidBucketAclWithObjectOwnership,
        .invalidBucketName,
        .invalidBucketOwnerAWSAccountID,
        .invalidBucketState,
        .invalidDigest,
        .invalidEncryptionAlgorithmError,
        .invalidHostHeader,
        .invalidHttpMethod,
        .invalidLocationConstraint,
        .invalidObjectState,
        .invalidPart,
        .invalidPartOrder,
        .invalidPayer,
        .invalidPolicyDocument,
        .invalidRange,
        .invalidRegion,
        .invalidRequest,
        .invalidSOAPRequest,
        .invalidSecurity,
        .invalidSessionException,
        .invalidSignature,
        .invalidStorageClass,
        .invalidTag,
        .invalidTargetBucketForLogging,
        .invalidToken,
        .invalidURI,
        .kmsDisabledException,
        .kmsInvalidKeyUsageException,
        .kmsInvalidStateException,
        .kmsNotFoundException,
        .keyTooLongError,
        .malformedACLError,
        .malformedPOSTRequest,
        .malformedPolicy,
        .malformedXML,
        .maxMessageLengthExceeded,
        .maxPostPreDataLengthExceededError,
        .metadataTooLarge,
        .methodNotAllowed,
        .missingAttachment,
        .missingAuthenticationToken,
        .missingContentLength,
        .missingRequestBodyError,
        .missingSecurityElement,
        .missingSecurityHeader,
        .noLoggingStatusForKey,
        .noSuchAccessPoint,
        .noSuchAsyncRequest,
        .noSuchBucket,
        .noSuchBucketPolicy,
        .noSuchCORSConfiguration,
        .noSuchKey,
        .noSuchLifecycleConfiguration,
        .noSuchMultiRegionAccessPoint,
        .noSuchObjectLockConfiguration,
        .noSuchTagSet,
        .noSuchUpload,
        .noSuchVersion,
        .noSuchWebsiteConfiguration,
        .noTransformationDefined,
        .notDeviceOwnerError,
        .notImplemented,
        .notModified,
        .notSignedUp,
        .objectLockConfigurationNotFoundError,
        .operationAborted,
        .ownershipControlsNotFoundError,
        .permanentRedirect,
        .permanentRedirectControlError,
        .preconditionFailed,
        .redirect,
        .requestHeaderSectionTooLarge,
        .requestIsNotMultiPartContent,
        .requestTimeTooSkewed,
        .requestTimeout,
        .requestTorrentOfBucketError,
        .responseInterrupted,
        .restoreAlreadyInProgress,
        .serverSideEncryptionConfigurationNotFoundError,
        .serviceUnavailable,
        .signatureDoesNotMatch,
        .slowDown,
        .tagPolicyException,
        .temporaryRedirect,
        .tokenCodeInvalidError,
        .tokenRefreshRequired,
        .tooManyAccessPoints,
        .tooManyBuckets,
        .tooManyMultiRegionAccessPointregionsError,
        .tooManyMultiRegionAccessPoints,
        .unauthorizedAccessError,
        .unexpectedContent,
        .unexpectedIPError,
        .unresolvableGrantByEmailAddress,
        .unsupportedArgument,
        .unsupportedSignature,
        .userKeyMustBeSpecified,
        .replicationConfigurationNotFoundError,
        .xAmzContentSHA256Mismatch,
        .invalidChunkSizeError,
        .corsResponse,
        .badRequest,
        .invalidPartNumber,
        .insufficientStorage,
        .malformedTrailerError,
    ]
}
