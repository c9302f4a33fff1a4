import GRDB

/// The catalog's tables (CLUSTER.md §2). One `registers` table holds every register of the
/// drive, objects and system records alike, keyed by (scope, key) as BLOBs so rows sort in
/// byte order (an object's scope is its bucket ID). Values never hold shard bytes: an
/// accept must not destroy the data of the value it replaces (F7).
enum DriveCatalogSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("drive-catalog-v1") { db in
            try db.execute(sql: """
                CREATE TABLE registers (
                    scope BLOB NOT NULL,
                    key BLOB NOT NULL,
                    promised BLOB NOT NULL,
                    ballot BLOB,
                    write_id BLOB,
                    chosen INTEGER NOT NULL DEFAULT 0,
                    tomb INTEGER NOT NULL DEFAULT 0,
                    value BLOB,
                    data_ref BLOB,
                    PRIMARY KEY (scope, key)
                ) WITHOUT ROWID;
                CREATE TABLE data (
                    data_ref BLOB PRIMARY KEY,
                    adopted INTEGER NOT NULL DEFAULT 0,
                    created_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE inline (
                    data_ref BLOB NOT NULL,
                    part INTEGER NOT NULL,
                    slot INTEGER NOT NULL,
                    bytes BLOB NOT NULL,
                    PRIMARY KEY (data_ref, part, slot)
                ) WITHOUT ROWID;
                CREATE TABLE meta (
                    name TEXT PRIMARY KEY,
                    value BLOB NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("drive-catalog-v2-condemned") { db in
            // A collector condemns data before it reads every drive (DataCollectionRule):
            // from then on an accept carrying it is refused noData. The column holds the
            // condemnation's expiry (this drive's wall ms); 0, or any time past, is none.
            try db.execute(sql: "ALTER TABLE data ADD COLUMN condemned INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("drive-catalog-v3-bucket-fences") { db in
            // DeleteBucket's fence (CLUSTER.md §6, F11): while a bucket ID is closed here this
            // drive votes on none of its object keys, so no write of one can be chosen once
            // Q drives of the set closed it. Each DeleteBucket run fences under a token of its
            // own and reopens only its own; `until`: this drive's wall ms, Int64.max for good.
            try db.execute(sql: """
                CREATE TABLE fences (
                    bucket_id BLOB NOT NULL, token BLOB NOT NULL, until INTEGER NOT NULL,
                    PRIMARY KEY (bucket_id, token)
                ) WITHOUT ROWID
                """)
        }
        migrator.registerMigration("drive-catalog-v4-orphans") { db in
            // Data a register row here stopped referencing: an accept or commit replaced the
            // value that named it (an overwrite, a delete, a part uploaded again). Written in
            // the transaction that replaced it, so no overwrite is ever missed; the scanner
            // hands each to the collector, which deletes the data only under the reference
            // rule (CLUSTER.md §3, F6). `payload`: the replaced value (the manifest that says
            // which shard files the data has); `retry_ms`: not before then (a drive was silent).
            try db.execute(sql: """
                CREATE TABLE orphans (
                    data_ref BLOB PRIMARY KEY, scope BLOB NOT NULL, key BLOB NOT NULL, payload BLOB NOT NULL,
                    since_ms INTEGER NOT NULL, retry_ms INTEGER NOT NULL DEFAULT 0
                ) WITHOUT ROWID;
                CREATE INDEX orphans_by_age ON orphans (since_ms);
                """)
            // Whose data a row is (the register key its writer staged it for) and which of its
            // shards are files here: data no accept ever adopted (its writer died between
            // staging and accepting) is found by age and collected with no value to read.
            try db.execute(sql: """
                ALTER TABLE data ADD COLUMN scope BLOB;
                ALTER TABLE data ADD COLUMN key BLOB;
                ALTER TABLE data ADD COLUMN file_parts TEXT;
                CREATE INDEX data_unadopted ON data (created_ms) WHERE adopted = 0;
                """)
        }
        migrator.registerMigration("drive-catalog-v5-condemnation-owners") { db in
            // A condemnation names the collector run that made it, so a run releases or
            // deletes under its own condemnation only, and no run takes over another's live
            // one. A drive that does not hold the data condemns it too (`condemned_absent`),
            // and keeps that after collecting it, until the lease ends: a late stage of it is
            // refused, so the drive cannot come to hold, and then vote for, data the run
            // found nowhere on it or just deleted.
            try db.execute(sql: """
                ALTER TABLE data ADD COLUMN condemned_by BLOB;
                CREATE TABLE condemned_absent (
                    data_ref BLOB PRIMARY KEY, token BLOB NOT NULL, until INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX condemned_absent_by_until ON condemned_absent (until);
                """)
        }
        return migrator
    }
}
