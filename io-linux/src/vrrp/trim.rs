//! When the VRRP child gives freed heap back to the kernel
//! ([`crate::host::process::release_freed_memory`]): once the engine's queue is empty
//! after a reload, whose old configuration is then freed, or after a large burst of
//! outputs.

/// At least this many outputs carried out between two empty queues (1,000 takeovers,
/// say) give their freed memory back.
const TRIM_AFTER: usize = 512;

#[derive(Default)]
pub(crate) struct MemoryTrim {
    /// Outputs carried out since the engine's queue was last empty.
    since_drained: usize,
}

impl MemoryTrim {
    /// One output carried out.
    pub(crate) fn output_done(&mut self) {
        self.since_drained += 1;
    }

    /// The engine's queue is empty; `reloaded`: a reload's outputs were the last.
    pub(crate) fn queue_drained(&mut self, reloaded: bool) {
        if self.due(reloaded) {
            crate::host::process::release_freed_memory();
        }
    }

    /// Whether freed memory goes back now; the count starts again either way.
    fn due(&mut self, reloaded: bool) -> bool {
        let carried_out = std::mem::take(&mut self.since_drained);
        // After a reload the new configuration is in the engine and its outputs are
        // carried out: the old one is freed. Otherwise 1,000 takeovers' queue, freed out
        // of the order it was built in, leaves the heap's top pinned: 2-3 MiB that glibc
        // would keep for the process's life.
        reloaded || carried_out >= TRIM_AFTER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(outputs: usize, trim: &mut MemoryTrim) {
        for _ in 0..outputs {
            trim.output_done();
        }
    }

    #[test]
    fn memory_goes_back_after_a_reload_or_a_large_burst_and_the_count_restarts() {
        let mut trim = MemoryTrim::default();
        after(TRIM_AFTER - 1, &mut trim);
        assert!(!trim.due(false), "a small burst trims");
        after(TRIM_AFTER - 1, &mut trim);
        assert!(!trim.due(false), "the count ran on across an empty queue");
        assert!(trim.due(true), "a reload's empty queue does not trim");
        after(TRIM_AFTER, &mut trim);
        assert!(trim.due(false), "a large burst does not trim");
        assert!(!trim.due(false), "the count did not restart");
    }
}
