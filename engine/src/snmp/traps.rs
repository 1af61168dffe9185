//! The notifications keepalived sends with `enable_traps`.
