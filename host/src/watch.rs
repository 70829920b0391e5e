//! Which file-system events mean a watched file's content may have changed.

use notify::EventKind;
use notify::event::{AccessKind, AccessMode, MetadataKind, ModifyKind};

/// Events that never mean content changed: reads and access times. A file
/// closed after writing does. A watcher that rescans on reads would rescan
/// forever, since the rescan reads the files again.
pub fn irrelevant(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(access) => !matches!(access, AccessKind::Close(AccessMode::Write)),
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, RemoveKind};

    #[test]
    fn reads_are_irrelevant_and_writes_creations_and_removals_are_not() {
        assert!(irrelevant(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(irrelevant(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(irrelevant(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::AccessTime
        ))));
        assert!(!irrelevant(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(!irrelevant(&EventKind::Create(CreateKind::File)));
        assert!(!irrelevant(&EventKind::Remove(RemoveKind::File)));
        assert!(!irrelevant(&EventKind::Modify(ModifyKind::Any)));
    }
}
