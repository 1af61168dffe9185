//! The health-checker side, sans-IO: which real server to probe when, what a probe's
//! outcome means for the real server and its virtual server, and the IPVS state that
//! follows. Probes themselves run in `io-linux`; they speak the types of [`probe`].

pub mod probe;

pub mod ipvs;
