//! What keepalived-rs says it is: `--version` and the start-up banner, in keepalived's
//! layout (`keepalived -v`, `print_version()`), naming the keepalived release whose
//! configuration, signals and files it follows so that tools reading `Keepalived vX.Y.Z`
//! find it.

/// The keepalived release this one is a drop-in for, as keepalived prints its own.
pub const KEEPALIVED: &str = "Keepalived v2.2.7 (01/16,2022)";

/// That release's number alone, for labels (`keepalived_rs_build_info`).
pub const KEEPALIVED_RELEASE: &str = "2.2.7";

/// keepalived's "Config options" words for what this build carries out, in keepalived's
/// order (BFD after JSON, as Debian's `--enable-bfd` build prints it); SNMP and DBus are
/// not among them.
pub const CONFIG_OPTIONS: &str =
    "NFTABLES LVS REGEX VRRP VRRP_AUTH VRRP_VMAC JSON BFD INIT=systemd SYSTEMD_NOTIFY";

/// `keepalived-rs v0.1.0, compatible with Keepalived v2.2.7 (01/16,2022)`.
pub fn title() -> String {
    format!(
        "keepalived-rs v{}, compatible with {KEEPALIVED}",
        env!("CARGO_PKG_VERSION")
    )
}

/// The running kernel, as keepalived names it: `Linux 6.1.0-13-amd64 #1 SMP ...`.
pub fn running_on() -> String {
    // SAFETY: uname fills the utsname it is given.
    let uts = unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        libc::uname(&mut u);
        u
    };
    let text = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {}",
        text(&uts.sysname),
        text(&uts.release),
        text(&uts.version)
    )
}

/// What `-v` prints, on stderr as keepalived prints it.
pub fn version_text() -> String {
    format!(
        "{}\n\nRunning on {}\n\nConfig options:  {CONFIG_OPTIONS}\n",
        title(),
        running_on()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_names_the_keepalived_release_as_keepalived_does() {
        let v = version_text();
        let first = v.lines().next().unwrap();
        assert!(first.starts_with("keepalived-rs v"), "{first}");
        assert!(first.contains("Keepalived v2.2.7 (01/16,2022)"), "{first}");
        assert!(running_on().starts_with("Linux "), "{}", running_on());
        // Scripts that look for the BFD subsystem find it.
        assert!(v.contains(" JSON BFD "), "{v}");
    }
}
