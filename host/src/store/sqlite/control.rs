//! Transaction control (BEGIN, SAVEPOINT, RELEASE, ROLLBACK, COMMIT) by
//! cached prepared statements.
//!
//! rusqlite's `Transaction` and `Savepoint` send their control statements as
//! SQL text, parsed and planned again on every call; on the writer thread
//! that was a tenth of a write's CPU (four statements per batch of one).
//! Prepared once per connection, each is a step.

use rusqlite::Connection;

use crate::store::StoreError;

/// Runs one control statement, prepared once per connection.
fn control(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// A batch's transaction: rolled back when dropped without `commit`.
pub(super) struct Batch<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> Batch<'c> {
    /// Begins a write transaction on `conn`: it waits for another
    /// connection's write to end, then reads the file as that left it, so
    /// its own first write cannot find its snapshot stale.
    pub(super) fn begin(conn: &'c Connection) -> Result<Self, StoreError> {
        control(conn, "BEGIN IMMEDIATE")?;
        Ok(Self { conn, open: true })
    }

    /// Opens a savepoint inside the transaction: one transaction of the
    /// batch, undone alone if it fails.
    pub(super) fn savepoint(&self) -> Result<Savepoint<'c>, StoreError> {
        control(self.conn, "SAVEPOINT one")?;
        Ok(Savepoint {
            conn: self.conn,
            open: true,
        })
    }

    /// Commits the transaction; one that cannot commit is rolled back.
    pub(super) fn commit(self) -> Result<(), StoreError> {
        // On failure `self` drops still open: a COMMIT that failed (a full
        // disk, say) can leave the transaction open, and the next batch
        // could not begin.
        control(self.conn, "COMMIT")?;
        let mut done = self;
        done.open = false;
        Ok(())
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if self.open {
            // Best effort, as rusqlite's own transactions do: the batch's
            // callers are told it failed either way.
            let _ = control(self.conn, "ROLLBACK");
        }
    }
}

/// A savepoint: undone when dropped without `release`.
pub(super) struct Savepoint<'c> {
    conn: &'c Connection,
    open: bool,
}

impl Savepoint<'_> {
    /// Keeps what was written since the savepoint.
    pub(super) fn release(mut self) -> Result<(), StoreError> {
        self.open = false;
        control(self.conn, "RELEASE one")
    }

    /// Undoes what was written since the savepoint.
    pub(super) fn rollback(mut self) -> Result<(), StoreError> {
        self.open = false;
        self.undo()
    }

    fn undo(&self) -> Result<(), StoreError> {
        control(self.conn, "ROLLBACK TO one")?;
        control(self.conn, "RELEASE one")
    }
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.undo();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
            .expect("count")
    }

    #[test]
    fn a_rolled_back_savepoint_undoes_only_its_own_writes_and_a_dropped_batch_undoes_all()
    -> Result<(), StoreError> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch("CREATE TABLE t (x INTEGER)")?;

        let batch = Batch::begin(&conn)?;
        let kept = batch.savepoint()?;
        conn.execute("INSERT INTO t VALUES (1)", [])?;
        kept.release()?;
        let undone = batch.savepoint()?;
        conn.execute("INSERT INTO t VALUES (2)", [])?;
        undone.rollback()?;
        let dropped = batch.savepoint()?;
        conn.execute("INSERT INTO t VALUES (3)", [])?;
        drop(dropped);
        batch.commit()?;
        let kept: Vec<i64> = conn
            .prepare("SELECT x FROM t")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        assert_eq!(kept, [1]);

        let batch = Batch::begin(&conn)?;
        conn.execute("INSERT INTO t VALUES (4)", [])?;
        drop(batch);
        assert_eq!(
            count(&conn),
            1,
            "a batch dropped uncommitted leaves nothing"
        );
        assert!(conn.is_autocommit(), "and no transaction open");
        Ok(())
    }
}
