//! The Debian package as CI builds and installs it: `packaging/build-deb.sh` with the
//! binary just built and the pages generated from the option table and the registry,
//! installed with dpkg into a private root (its own dpkg database, so the host's
//! packages are untouched); then the installed binary runs, and the unit, the options
//! file (a conffile), the manual pages and the completion are where Debian puts them.

use std::path::Path;
use std::process::Command;

use keepalived_linux::tools::manual;
use keepalived_tests::crate_dir;
use keepalived_tests::host::{keepalived_rs, runnable, tmp_dir};

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_debian_package_builds_installs_and_runs() {
    let test = "the_debian_package_builds_installs_and_runs";
    if !runnable(
        test,
        &["dpkg", "dpkg-deb", "objdump", "strip", "gzip", "groff"],
    ) {
        return;
    }
    let dir = tmp_dir("package");
    let pages = dir.join("pages");
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::write(pages.join("keepalived-rs.8"), manual::daemon_page()).unwrap();
    std::fs::write(pages.join("keepalived.conf.5"), manual::config_page()).unwrap();
    std::fs::write(pages.join("keepalived-rs.bash"), manual::bash_completion()).unwrap();
    // The pages are clean roff: groff warns of nothing.
    for page in ["keepalived-rs.8", "keepalived.conf.5"] {
        let out = Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(pages.join(page))
            .output()
            .unwrap();
        assert!(
            out.stderr.is_empty(),
            "{page}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = dir.join("out");
    let script = crate_dir().join("../packaging/build-deb.sh");
    let deb = run(Command::new("bash")
        .arg(&script)
        .arg("--binary")
        .arg(keepalived_rs())
        .arg("--pages")
        .arg(&pages)
        .arg(&out));
    let deb = deb.trim();
    assert!(deb.ends_with(".deb") && Path::new(deb).exists(), "{deb}");
    let info = run(Command::new("dpkg-deb").args(["--field", deb]));
    for field in [
        "Package: keepalived-rs",
        "Conflicts: keepalived",
        "Section: admin",
    ] {
        assert!(info.lines().any(|l| l == field), "{field} missing: {info}");
    }
    assert!(info.contains("Depends: libc6 (>= 2."), "{info}");

    let root = dir.join("root");
    let admin = root.join("var/lib/dpkg");
    for d in ["info", "updates"] {
        std::fs::create_dir_all(admin.join(d)).unwrap();
    }
    std::fs::write(admin.join("status"), "").unwrap();
    std::fs::write(admin.join("available"), "").unwrap();
    run(Command::new("dpkg")
        .arg(format!("--instdir={}", root.display()))
        .arg(format!("--admindir={}", admin.display()))
        // The private database has no libc6: the dependency is the host's.
        .args(["--force-depends", "--install", deb]));

    let v = Command::new(root.join("usr/sbin/keepalived-rs"))
        .arg("-v")
        .output()
        .unwrap();
    let first = String::from_utf8_lossy(&v.stderr)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    assert!(first.contains("Keepalived v2.2.7"), "-v: {first}");
    for file in [
        "lib/systemd/system/keepalived-rs.service",
        "etc/default/keepalived-rs",
        "usr/share/man/man8/keepalived-rs.8.gz",
        "usr/share/man/man5/keepalived.conf.5.gz",
        "usr/share/bash-completion/completions/keepalived-rs",
        "usr/share/doc/keepalived-rs/keywords.md",
    ] {
        assert!(root.join(file).exists(), "{file} not installed");
    }
    let conffiles = std::fs::read_to_string(admin.join("info/keepalived-rs.conffiles")).unwrap();
    assert_eq!(conffiles.trim(), "/etc/default/keepalived-rs");
    // The completion is valid bash and offers the options.
    run(Command::new("bash")
        .arg("-n")
        .arg(root.join("usr/share/bash-completion/completions/keepalived-rs")));
    // `--signum=ST<TAB>`, which bash splits at '=', offers the functions.
    let completion = root.join("usr/share/bash-completion/completions/keepalived-rs");
    let offered = run(Command::new("bash").arg("-c").arg(format!(
        "source {}; COMP_WORDS=(keepalived-rs --signum = ST); COMP_CWORD=3; \
         _keepalived_rs; echo \"${{COMPREPLY[@]}}\"",
        completion.display()
    )));
    assert_eq!(offered.trim(), "STOP STATS STATS_CLEAR");
    let _ = std::fs::remove_dir_all(&dir);
}
