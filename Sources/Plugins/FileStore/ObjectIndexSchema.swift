import GRDB

/// The index schema and how it got here. A new index gets the current schema in one step (one
/// transaction, one foreign-key check: a cold start pays for nothing else); an older one
/// replays the steps it has not applied. GRDB's merged migration keeps both paths under one
/// identifier, and a test checks that they build the same tables.
enum ObjectIndexSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration(current.identifier, merging: Set(steps.dropLast().map(\.identifier))) { db, applied in
            if applied.isEmpty {
                try db.execute(sql: current.sql)
                return
            }
            for step in steps where !applied.contains(step.identifier) {
                try db.execute(sql: step.sql)
            }
        }
        return migrator
    }

    struct Step: Sendable {
        let identifier: String
        let sql: String
    }

    /// The schema as the steps leave it, made at once.
    static let current = Step(identifier: steps.last!.identifier, sql: """
        CREATE TABLE buckets (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            owner_id TEXT NOT NULL,
            region TEXT NOT NULL,
            created_ms INTEGER NOT NULL
        );
        CREATE TABLE objects (
            bucket_id INTEGER NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
            key BLOB NOT NULL,
            size INTEGER NOT NULL,
            etag TEXT NOT NULL,
            modified_ms INTEGER NOT NULL,
            inode INTEGER NOT NULL,
            owner_id TEXT,
            storage_class TEXT NOT NULL DEFAULT 'STANDARD',
            part_count INTEGER NOT NULL DEFAULT 0,
            metadata BLOB NOT NULL,
            checksum_algorithm TEXT,
            checksum BLOB,
            checksum_type TEXT,
            checksum_parts INTEGER,
            parts BLOB,
            upload_id TEXT,
            part_numbers BLOB,
            PRIMARY KEY (bucket_id, key)
        ) WITHOUT ROWID;
        CREATE TABLE trash (
            bucket_id INTEGER NOT NULL,
            path TEXT NOT NULL,
            key BLOB NOT NULL,
            inode INTEGER NOT NULL,
            PRIMARY KEY (bucket_id, path)
        );
        CREATE TABLE bucket_configurations (
            bucket_id INTEGER NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            document BLOB NOT NULL,
            PRIMARY KEY (bucket_id, kind)
        );
        CREATE TABLE uploads (
            upload_id TEXT PRIMARY KEY,
            bucket_id INTEGER NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
            key BLOB NOT NULL,
            initiated_ms INTEGER NOT NULL,
            owner_id TEXT,
            storage_class TEXT NOT NULL,
            metadata BLOB NOT NULL,
            checksum_algorithm TEXT,
            checksum_type TEXT
        );
        CREATE INDEX uploads_by_key ON uploads(bucket_id, key, upload_id);
        CREATE INDEX uploads_by_age ON uploads(initiated_ms);
        CREATE TABLE parts (
            upload_id TEXT NOT NULL REFERENCES uploads(upload_id) ON DELETE CASCADE,
            part_number INTEGER NOT NULL,
            size INTEGER NOT NULL,
            etag TEXT NOT NULL,
            modified_ms INTEGER NOT NULL,
            checksum_algorithm TEXT,
            checksum BLOB,
            file TEXT NOT NULL,
            PRIMARY KEY (upload_id, part_number)
        ) WITHOUT ROWID;
        CREATE TABLE pending (
            temp TEXT PRIMARY KEY,
            bucket_id INTEGER NOT NULL,
            key BLOB NOT NULL,
            inode INTEGER NOT NULL
        ) WITHOUT ROWID;
        """)

    /// Every schema change in order, as indexes made by earlier versions applied them.
    static let steps: [Step] = [
        Step(identifier: "v1", sql: """
            CREATE TABLE buckets (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                owner_id TEXT NOT NULL,
                region TEXT NOT NULL,
                created_ms INTEGER NOT NULL
            );
            CREATE TABLE objects (
                bucket_id INTEGER NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
                key BLOB NOT NULL,
                size INTEGER NOT NULL,
                etag TEXT NOT NULL,
                modified_ms INTEGER NOT NULL,
                inode INTEGER NOT NULL,
                owner_id TEXT,
                storage_class TEXT NOT NULL DEFAULT 'STANDARD',
                part_count INTEGER NOT NULL DEFAULT 0,
                metadata BLOB NOT NULL,
                pending_temp TEXT,
                PRIMARY KEY (bucket_id, key)
            ) WITHOUT ROWID;
            CREATE INDEX objects_pending ON objects(pending_temp) WHERE pending_temp IS NOT NULL;
            CREATE TABLE trash (
                bucket_id INTEGER NOT NULL,
                path TEXT NOT NULL,
                key BLOB NOT NULL,
                inode INTEGER NOT NULL,
                PRIMARY KEY (bucket_id, path)
            );
            CREATE TABLE bucket_configurations (
                bucket_id INTEGER NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                document BLOB NOT NULL,
                PRIMARY KEY (bucket_id, kind)
            );
            """),
        Step(identifier: "v2-checksums-multipart", sql: """
            ALTER TABLE objects ADD COLUMN checksum_algorithm TEXT;
            ALTER TABLE objects ADD COLUMN checksum BLOB;
            ALTER TABLE objects ADD COLUMN checksum_type TEXT;
            ALTER TABLE objects ADD COLUMN checksum_parts INTEGER;
            ALTER TABLE objects ADD COLUMN parts BLOB;
            CREATE TABLE uploads (
                upload_id TEXT PRIMARY KEY,
                bucket_id INTEGER NOT NULL REFERENCES buckets(id) ON DELETE CASCADE,
                key BLOB NOT NULL,
                initiated_ms INTEGER NOT NULL,
                owner_id TEXT,
                storage_class TEXT NOT NULL,
                metadata BLOB NOT NULL,
                checksum_algorithm TEXT,
                checksum_type TEXT
            );
            CREATE INDEX uploads_by_key ON uploads(bucket_id, key, upload_id);
            CREATE INDEX uploads_by_age ON uploads(initiated_ms);
            CREATE TABLE parts (
                upload_id TEXT NOT NULL REFERENCES uploads(upload_id) ON DELETE CASCADE,
                part_number INTEGER NOT NULL,
                size INTEGER NOT NULL,
                etag TEXT NOT NULL,
                modified_ms INTEGER NOT NULL,
                checksum_algorithm TEXT,
                checksum BLOB,
                file TEXT NOT NULL,
                PRIMARY KEY (upload_id, part_number)
            ) WITHOUT ROWID;
            """),
        // Renames in flight move to their own small table: the object row is then written
        // once per PUT instead of twice (set and clear), and recovery reads only in-flight rows.
        Step(identifier: "v3-pending-table", sql: """
            CREATE TABLE pending (
                temp TEXT PRIMARY KEY,
                bucket_id INTEGER NOT NULL,
                key BLOB NOT NULL,
                inode INTEGER NOT NULL
            ) WITHOUT ROWID;
            INSERT INTO pending (temp, bucket_id, key, inode)
                SELECT pending_temp, bucket_id, key, inode FROM objects WHERE pending_temp IS NOT NULL;
            DROP INDEX objects_pending;
            ALTER TABLE objects DROP COLUMN pending_temp;
            """),
        // Which upload made a multipart object (a repeated Complete is answered from it) and
        // the numbers its parts were uploaded with (GetObjectAttributes lists them).
        Step(identifier: "v4-completed-uploads", sql: """
            ALTER TABLE objects ADD COLUMN upload_id TEXT;
            ALTER TABLE objects ADD COLUMN part_numbers BLOB;
            """),
    ]
}
