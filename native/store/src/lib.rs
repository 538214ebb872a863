//! Bolide storage engine.
pub fn engine_version() -> u32 { 1 }
