//! One budget on everything the configuration language multiplies: the lines `~SEQ`,
//! `~LST` and multi-line definitions produce, the bytes substitution and repetition
//! produce, the work `$` substitution does, and the files `include` reads. It is shared
//! by the whole load (main file and every include), so that nesting constructs cannot
//! multiply a small per-construct limit into an unbounded one.
//!
//! keepalived has no such limits (`lib/parser.c` expands whatever it is given); its
//! `MAXBUF` line limit is the only bound there. The limits here are far above what real
//! configurations use and far below what harms the host. The largest configurations
//! reported from the field hold about 40,000 real servers in about 2,300 virtual
//! services (keepalived issue #2318); written out in full that is about 250,000 lines
//! and 5 MB (the `gen-config` benchmark configuration). Generated instead by expansion as
//! far as the language allows (2,300 virtual servers each in a file of `conf.d/`, their
//! 46,000 real servers by `~SEQ` over a six-line definition:
//! `engine/tests/config_bounds.rs`), it spends 276,000 lines, 3.4 MiB, 9.3 Mi units of
//! substitution work, 2,301 include files and 0.3 MiB of included text. Each limit below
//! is at least three times that; a load that reaches any of them stops within a fraction
//! of a second in a few MiB (the bombs of `tests/tests/config_bombs.rs`).

/// Lines produced by `~SEQ`/`~LST` repetition and by multi-line definitions: 3.6 times
/// the generated field configuration.
pub const MAX_EXPANDED_LINES: u64 = 1_000_000;
/// Bytes of text produced by repetition and substitution: 9 times the generated field
/// configuration, 6 times the field configuration written out in full.
pub const MAX_EXPANDED_BYTES: u64 = 32 << 20;
/// Units of work of `$` substitution: every byte of definition text scanned, plus
/// [`REFERENCE_COST`] for each reference resolved, so that definitions which expand to
/// nothing are still paid for. 14 times the generated field configuration; a million
/// `~SEQ` lines with two references each cost about 80 Mi, so the line limit comes first.
pub const MAX_SUBSTITUTION_WORK: u64 = 128 << 20;
/// What resolving one `$NAME` reference costs beyond the bytes it scans: a lookup and a
/// copy of the value, about as much as scanning this many bytes.
pub const REFERENCE_COST: u64 = 32;
/// Files named by `include` after brace and wildcard expansion, whether or not they can
/// be read (and directories a wildcard walks through): 8 times one file per virtual
/// service of the field configuration, 6 times one per virtual service and per VRRP
/// instance of the largest field reports (2,300 and 1,000).
pub const MAX_INCLUDE_FILES: u64 = 20_000;
/// Bytes read from included files (the main file is not counted: it is as large as its
/// author made it, and is read once): 13 times the field configuration written out in
/// full, all of it in included files.
pub const MAX_INCLUDED_BYTES: u64 = 64 << 20;

/// The limits of one load. [`Limits::FIELD`] everywhere but in the fuzzer, which
/// takes smaller ones to reach them often and quickly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub lines: u64,
    pub bytes: u64,
    pub substitution_work: u64,
    pub include_files: u64,
    pub included_bytes: u64,
}

impl Limits {
    /// The limits every configuration is read with (see the constants).
    pub const FIELD: Limits = Limits {
        lines: MAX_EXPANDED_LINES,
        bytes: MAX_EXPANDED_BYTES,
        substitution_work: MAX_SUBSTITUTION_WORK,
        include_files: MAX_INCLUDE_FILES,
        included_bytes: MAX_INCLUDED_BYTES,
    };

    pub fn max(&self, limit: Limit) -> u64 {
        match limit {
            Limit::Lines => self.lines,
            Limit::Bytes => self.bytes,
            Limit::SubstitutionWork => self.substitution_work,
            Limit::IncludeFiles => self.include_files,
            Limit::IncludedBytes => self.included_bytes,
        }
    }

    /// The limit in words, for messages: "the limit of 1000000 lines produced by
    /// expansion".
    pub fn describe(&self, limit: Limit) -> String {
        let max = self.max(limit);
        let mib = |n: u64| {
            if n.trailing_zeros() >= 20 {
                format!("{} MiB", n >> 20)
            } else {
                format!("{n} bytes")
            }
        };
        match limit {
            Limit::Lines => format!("the limit of {max} lines produced by expansion"),
            Limit::Bytes => format!("the limit of {} of text produced by expansion", mib(max)),
            Limit::SubstitutionWork => {
                format!("the limit of {max} units of definition substitution work")
            }
            Limit::IncludeFiles => format!("the limit of {max} included files"),
            Limit::IncludedBytes => format!("the limit of {} read from included files", mib(max)),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::FIELD
    }
}

/// Which limit a load ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Lines,
    Bytes,
    SubstitutionWork,
    IncludeFiles,
    IncludedBytes,
}

/// What the load has spent so far. Counters only grow; once one passes its limit the
/// budget stays exceeded.
#[derive(Debug, Default, Clone)]
pub struct Budget {
    limits: Limits,
    lines: u64,
    bytes: u64,
    work: u64,
    include_files: u64,
    included_bytes: u64,
    exceeded: Option<Limit>,
}

impl Budget {
    pub fn new(limits: Limits) -> Self {
        Budget {
            limits,
            ..Budget::default()
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn counter(&mut self, limit: Limit) -> &mut u64 {
        match limit {
            Limit::Lines => &mut self.lines,
            Limit::Bytes => &mut self.bytes,
            Limit::SubstitutionWork => &mut self.work,
            Limit::IncludeFiles => &mut self.include_files,
            Limit::IncludedBytes => &mut self.included_bytes,
        }
    }

    /// Spends `n` of `limit`; Err once the total passes it (and for every call after).
    pub fn spend(&mut self, limit: Limit, n: u64) -> Result<(), Limit> {
        if let Some(l) = self.exceeded {
            return Err(l);
        }
        let max = self.limits.max(limit);
        let counter = self.counter(limit);
        *counter = counter.saturating_add(n);
        if *counter > max {
            self.exceeded = Some(limit);
            return Err(limit);
        }
        Ok(())
    }

    /// A line of `len` bytes produced by expansion.
    pub fn line(&mut self, len: usize) -> Result<(), Limit> {
        self.spend(Limit::Lines, 1)?;
        self.spend(Limit::Bytes, len as u64)
    }

    /// How many more of `limit` may be spent.
    pub fn remaining(&mut self, limit: Limit) -> u64 {
        if self.exceeded.is_some() {
            return 0;
        }
        let max = self.limits.max(limit);
        max.saturating_sub(*self.counter(limit))
    }

    pub fn exceeded(&self) -> Option<Limit> {
        self.exceeded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_once_passed_stays_passed() {
        let mut b = Budget::default();
        assert_eq!(b.spend(Limit::IncludeFiles, MAX_INCLUDE_FILES), Ok(()));
        assert_eq!(b.remaining(Limit::IncludeFiles), 0);
        assert_eq!(b.spend(Limit::IncludeFiles, 1), Err(Limit::IncludeFiles));
        assert_eq!(b.spend(Limit::Lines, 1), Err(Limit::IncludeFiles));
        assert_eq!(b.remaining(Limit::Lines), 0);
        assert_eq!(b.spend(Limit::Bytes, u64::MAX), Err(Limit::IncludeFiles));
    }

    #[test]
    fn limits_say_what_they_are() {
        let l = Limits::FIELD;
        assert_eq!(
            l.describe(Limit::Lines),
            "the limit of 1000000 lines produced by expansion"
        );
        assert_eq!(
            l.describe(Limit::IncludedBytes),
            "the limit of 64 MiB read from included files"
        );
    }

    #[test]
    fn counters_saturate() {
        let mut b = Budget::default();
        assert_eq!(b.spend(Limit::Bytes, u64::MAX), Err(Limit::Bytes));
        assert_eq!(b.exceeded(), Some(Limit::Bytes));
    }
}
