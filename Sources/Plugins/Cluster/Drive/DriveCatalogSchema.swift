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
        return migrator
    }
}
