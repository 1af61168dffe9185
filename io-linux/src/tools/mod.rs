//! The one-shot commands of the binary, which start no process: `-d` (the configuration
//! as text), `--decode-pcap` and `-T`/`--genhash`; and the manual pages packages install.

pub mod dump;
pub mod genhash;
pub mod manual;
pub mod pcap_decode;
