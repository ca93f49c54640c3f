//! Backup, verify, restore, list, diff, prune and key rotation over the core's traits.
