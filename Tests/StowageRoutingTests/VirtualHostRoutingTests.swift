import HTTPTypes
import StowageCore
import StowageRouting
import Testing

@Suite("Virtual-hosted-style addressing")
struct VirtualHostRoutingTests {
    let domains = ["localhost", "s3.local.test"]

    func route(_ method: HTTPRequest.Method, _ target: String, host: String) throws -> S3Operation {
        try S3RequestRouter.operation(for: S3Request(method: method, target: target, authority: host), domains: domains)
    }

    @Test func bucketComesFromTheHost() throws {
        #expect(try route(.get, "/cat.jpg", host: "photos.localhost:3000") == .getObject(ObjectAddress(bucket: "photos", key: "cat.jpg")))
        #expect(try route(.put, "/a/b%20c", host: "photos.s3.local.test") == .putObject(ObjectAddress(bucket: "photos", key: "a/b c")))
        #expect(try route(.get, "/", host: "photos.s3.local.test") == .listObjects(bucket: "photos"))
        #expect(try route(.get, "/?list-type=2", host: "photos.s3.local.test:9000") == .listObjectsV2(bucket: "photos"))
        #expect(try route(.put, "/", host: "photos.localhost") == .createBucket(bucket: "photos"))
        #expect(try route(.get, "/?policy", host: "photos.localhost") == .getBucketSubresource(bucket: "photos", .policy))
    }

    @Test func dottedBucketsAndCaseInsensitiveHosts() throws {
        #expect(try route(.get, "/k", host: "my.dotted.bucket.s3.local.test") == .getObject(ObjectAddress(bucket: "my.dotted.bucket", key: "k")))
        #expect(try route(.get, "/k", host: "Photos.S3.Local.Test") == .getObject(ObjectAddress(bucket: "photos", key: "k")))
        // The whole path is the key: a leading segment is not a bucket.
        #expect(try route(.get, "/other/k", host: "photos.localhost") == .getObject(ObjectAddress(bucket: "photos", key: "other/k")))
        #expect(try route(.get, "//k", host: "photos.localhost") == .getObject(ObjectAddress(bucket: "photos", key: "/k")))
    }

    @Test func pathStyleStillWorks() throws {
        #expect(try route(.get, "/photos/cat.jpg", host: "localhost:3000") == .getObject(ObjectAddress(bucket: "photos", key: "cat.jpg")))
        #expect(try route(.get, "/photos/cat.jpg", host: "s3.local.test") == .getObject(ObjectAddress(bucket: "photos", key: "cat.jpg")))
        #expect(try route(.get, "/photos/cat.jpg", host: "example.org") == .getObject(ObjectAddress(bucket: "photos", key: "cat.jpg")))
        #expect(try route(.get, "/", host: "localhost") == .listBuckets)
    }

    @Test func ipHostsAreNeverBuckets() throws {
        #expect(S3RequestRouter.virtualHostBucket("127.0.0.1", domains: ["0.0.1"]) == nil)
        #expect(S3RequestRouter.virtualHostBucket("[::1]", domains: ["1]"]) == nil)
        #expect(try route(.get, "/photos/k", host: "127.0.0.1:3000") == .getObject(ObjectAddress(bucket: "photos", key: "k")))
        // Not addresses: five groups, a four-digit group, an empty group, letters.
        #expect(S3RequestRouter.virtualHostBucket("b.1.2.3.4", domains: ["1.2.3.4"]) == "b")
        #expect(S3RequestRouter.virtualHostBucket("b.1.2.3.4444", domains: ["1.2.3.4444"]) == "b")
        #expect(S3RequestRouter.virtualHostBucket("b.1..3", domains: ["1..3"]) == "b")
    }

    @Test func hostSuffixRules() {
        #expect(S3RequestRouter.virtualHostBucket("photos.localhost.", domains: ["localhost"]) == "photos")
        #expect(S3RequestRouter.virtualHostBucket("PHOTOS.LocalHost", domains: ["localhost"]) == "photos")
        #expect(S3RequestRouter.virtualHostBucket("photos.localhost", domains: ["LOCALHOST"]) == "photos")
        // The domain itself, a label that only ends like the domain, and an empty label are not buckets.
        #expect(S3RequestRouter.virtualHostBucket("localhost", domains: ["localhost"]) == nil)
        #expect(S3RequestRouter.virtualHostBucket("photoslocalhost", domains: ["localhost"]) == nil)
        #expect(S3RequestRouter.virtualHostBucket(".localhost", domains: ["localhost"]) == nil)
        #expect(S3RequestRouter.virtualHostBucket("a.b.example.com", domains: ["localhost", "example.com"]) == "a.b")
    }

    @Test func noDomainsMeansPathStyleOnly() throws {
        let request = S3Request(method: .get, target: "/photos/k", authority: "photos.localhost")
        #expect(try S3RequestRouter.operation(for: request) == .getObject(ObjectAddress(bucket: "photos", key: "k")))
    }
}
