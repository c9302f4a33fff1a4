public import StowageCore

/// Browser uploads (PostObject) carry their SigV4 signature in the form: `x-amz-signature` is
/// the HMAC, under the credential's derived signing key, of the `policy` field exactly as sent
/// (base64). A form without a policy is anonymous.
extension SigV4Verifier {
    /// The identity that signed `form`'s policy, or `nil` for an anonymous form.
    public func verify(_ form: PostObjectForm, now: S3Timestamp) throws -> S3Identity? {
        guard let policy = form.value("policy") else {
            if form.value("x-amz-signature") != nil || form.value("signature") != nil {
                throw S3Error.invalidArgument("Bucket POST must contain a field named 'policy'.  If it is specified, please check the order of the fields.",
                                              name: "policy", value: "")
            }
            return nil
        }
        if form.value("awsaccesskeyid") != nil {
            throw S3Error(.invalidRequest, message: "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
        }
        let algorithm = try Self.required(form, "X-Amz-Algorithm")
        guard algorithm == SigV4Signer.algorithm else {
            throw S3Error.invalidArgument("Invalid algorithm: only AWS4-HMAC-SHA256 is supported.", name: "X-Amz-Algorithm", value: algorithm)
        }
        let credentialText = try Self.required(form, "X-Amz-Credential")
        let amzDate = try Self.required(form, "X-Amz-Date")
        let signature = try Self.required(form, "X-Amz-Signature")
        let scope = try SigV4Authorization.parseCredential(credentialText, error: S3Error.invalidArgument(
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".",
            name: "X-Amz-Credential", value: credentialText))
        guard scope.service == "s3" else {
            throw S3Error.invalidArgument("Error parsing the X-Amz-Credential parameter; incorrect service \"\(scope.service)\". This endpoint belongs to \"s3\".",
                                          name: "X-Amz-Credential", value: credentialText)
        }
        guard scope.region == region else {
            throw S3Error.invalidArgument("Error parsing the X-Amz-Credential parameter; the region '\(scope.region)' is wrong; expecting '\(region)'",
                                          name: "X-Amz-Credential", value: credentialText).with("Region", region)
        }
        guard amzDate.hasPrefix(scope.date), S3Timestamp(iso8601: amzDate) != nil else {
            throw S3Error.invalidArgument("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\" and on the credential's date.",
                                          name: "X-Amz-Date", value: amzDate)
        }
        guard let credential = credentials.credential(accessKeyID: scope.accessKeyID) else {
            throw S3Error(.invalidAccessKeyId, message: "The AWS Access Key Id you provided does not exist in our records.")
                .with("AWSAccessKeyId", scope.accessKeyID)
        }
        let signingKey = keys.key(secret: credential.secretAccessKey, date: scope.date, region: scope.region, service: scope.service)
        let expected = HMACSHA256.authenticate(key: signingKey, message: Array(policy.utf8))
        let provided = Hex.decode(signature.lowercased()) ?? []
        guard provided.count == expected.count, ConstantTime.equals(expected, provided) else {
            throw S3Error(.signatureDoesNotMatch, message: "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
                .with("AWSAccessKeyId", scope.accessKeyID)
                .with("StringToSign", policy)
                .with("SignatureProvided", signature)
        }
        return credential.identity
    }

    static func required(_ form: PostObjectForm, _ name: String) throws -> String {
        guard let value = form.value(name), !value.isEmpty else {
            throw S3Error.invalidArgument("Bucket POST must contain a field named '\(name)'.  If it is specified, please check the order of the fields.",
                                          name: name, value: "")
        }
        return value
    }
}
