public import StowageCore

/// A secret and the identity it authenticates.
public struct SigV4Credential: Sendable {
    public var secretAccessKey: String
    public var identity: S3Identity

    public init(secretAccessKey: String, identity: S3Identity) {
        self.secretAccessKey = secretAccessKey
        self.identity = identity
    }
}

/// Looks up the secret for an access key id. Implement it to authenticate against your own
/// user store; `StaticCredentials` serves the configuration's `auth.credentials`.
///
/// ```swift
/// struct DatabaseCredentials: SigV4CredentialProvider {
///     func credential(accessKeyID: String) -> SigV4Credential? { users[accessKeyID] }
/// }
/// ```
public protocol SigV4CredentialProvider: Sendable {
    func credential(accessKeyID: String) -> SigV4Credential?
}

/// A fixed set of credentials, each its own identity.
///
/// ```swift
/// let credentials = StaticCredentials(configuration.auth.credentials)
/// ```
public struct StaticCredentials: SigV4CredentialProvider {
    private let byKey: [String: SigV4Credential]

    public init(_ credentials: [SigV4Credential]) {
        var byKey: [String: SigV4Credential] = [:]
        for credential in credentials where byKey[credential.identity.accessKeyID ?? ""] == nil {
            byKey[credential.identity.accessKeyID ?? ""] = credential
        }
        self.byKey = byKey
    }

    public init(_ configured: [StowageConfiguration.Credential]) {
        self.init(configured.map { SigV4Credential(secretAccessKey: $0.secretAccessKey, identity: $0.identity) })
    }

    public func credential(accessKeyID: String) -> SigV4Credential? { byKey[accessKeyID] }
}
