//! The tables halo keeps in PostgreSQL, created and brought up to date at
//! start by numbered migrations.
//!
//! Tenants share the tables and are kept apart by a `tenant` key column:
//! one schema per tenant would mean a schema per folder name, created at
//! load, and prepared statements per schema, for no isolation the host
//! does not give already (every query names its tenant; no view writes
//! SQL).

use tokio_postgres::Client;

use crate::store::StoreError;

/// Every migration in order; one is never edited once released, only
/// followed by another.
const MIGRATIONS: &[&str] = &[
    // 1: models, the per-tenant commit counter, the commit log and the
    // recorded operations.
    "
    CREATE TABLE halo_tenants (
        tenant TEXT PRIMARY KEY,
        seq    BIGINT NOT NULL DEFAULT 0,
        stored BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE halo_models (
        tenant     TEXT NOT NULL,
        collection TEXT NOT NULL,
        id         TEXT NOT NULL,
        created    BIGINT GENERATED ALWAYS AS IDENTITY,
        body       TEXT NOT NULL,
        PRIMARY KEY (tenant, collection, id)
    );
    CREATE INDEX halo_models_created ON halo_models (tenant, collection, created);
    CREATE TABLE halo_log (
        tenant TEXT NOT NULL,
        seq    BIGINT NOT NULL,
        writer UUID NOT NULL,
        body   TEXT NOT NULL,
        at     TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, seq)
    );
    CREATE TABLE halo_ops (
        tenant TEXT NOT NULL,
        key    TEXT NOT NULL,
        answer TEXT NOT NULL,
        seq    BIGINT NOT NULL,
        at     TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, key)
    );
    CREATE INDEX halo_ops_at ON halo_ops (tenant, at);
    ",
    // 2: a node's hold on a tenant: other nodes' commits wait while it
    // lasts, until `held_until` at the latest.
    "
    ALTER TABLE halo_tenants ADD COLUMN holder UUID, ADD COLUMN held_until TIMESTAMPTZ;
    ",
];

/// Any number the nodes of a cluster agree on: they take this advisory lock
/// so that only one of them migrates at a time.
const MIGRATION_LOCK: i64 = 0x68616c6f;

/// Brings the database's tables up to date.
pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS halo_migrations (
            version INTEGER PRIMARY KEY,
            at      TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )
    .await?;
    let done: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM halo_migrations", &[])
        .await?
        .get(0);
    let known = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
    if done > known {
        return Err(StoreError::Backend(
            format!(
                "the database was migrated by a newer halo (version {done}; this one knows {known})"
            )
            .into(),
        ));
    }
    for (version, sql) in (1..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(done).unwrap_or(0))
    {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO halo_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await?;
        tracing::info!(version, "database migrated");
    }
    tx.commit().await?;
    Ok(())
}
