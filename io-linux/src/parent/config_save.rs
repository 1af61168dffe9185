//! `config_save_dir DIR`: each configuration the parent reads, at start and at each
//! reload, used or refused, is saved in DIR as `keepalived.conf.PID.N` (PID the
//! parent's, N counting from 0), as keepalived's parent saves its copy of each
//! configuration it reads (`init_data()`, `lib/parser.c`). keepalived saves the text it
//! read, includes in place; here it is the configuration as read, in `-d`'s form
//! ([`crate::tools::dump::text`]). DIR is created (rwx for its owner only) if it does not
//! exist, as `config_save_dir_handler()` does; its parent must.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use keepalived_engine::config::model::Config;
use tracing::{info, warn};

/// The number of the next saved configuration.
static SAVED: AtomicU32 = AtomicU32::new(0);

/// Saves `config` if its `config_save_dir` says where.
pub fn save(config: &Config) {
    let Some(dir) = config.global.config_save_dir.as_deref().map(Path::new) else {
        return;
    };
    if !dir.is_dir() {
        if let Err(e) = std::fs::DirBuilder::new().mode(0o700).create(dir) {
            warn!("Unable to create config_save_dir {}: {e}", dir.display());
            return;
        }
    }
    let n = SAVED.fetch_add(1, Ordering::Relaxed);
    let file = dir.join(format!("keepalived.conf.{}.{n}", std::process::id()));
    match std::fs::write(&file, crate::tools::dump::text(config)) {
        Ok(()) => info!("Configuration saved to {}", file.display()),
        Err(e) => warn!(
            "Failed to save the configuration to {}: {e}",
            file.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_engine::config::{parse_str, ParseOptions};

    #[test]
    fn each_configuration_read_is_saved_under_a_new_number() {
        let base = std::env::temp_dir().join(format!("kars-config-save-{}", std::process::id()));
        let dir = base.join("saved");
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let text = format!(
            "global_defs {{\n  config_save_dir {}\n  router_id saved_one\n}}\n",
            dir.display()
        );
        let config = parse_str(&text, &ParseOptions::default()).config;
        save(&config);
        save(&config);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let prefix = format!("keepalived.conf.{}.", std::process::id());
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().all(|n| n.starts_with(&prefix)), "{names:?}");
        assert_ne!(names[0], names[1]);
        let saved = std::fs::read_to_string(dir.join(&names[0])).unwrap();
        assert!(saved.contains("saved_one"), "{saved}");
        let _ = std::fs::remove_dir_all(&base);
    }
}
