//! The one-shot commands of the binary, which start no process: `-d` (the configuration
//! as text), `--decode-pcap` and `-T`/`--genhash`.

pub mod dump;
pub mod genhash;
pub mod pcap_decode;
