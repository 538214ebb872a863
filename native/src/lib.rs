use napi_derive::napi;

#[napi]
pub fn engine_version() -> u32 {
    bolide_store::engine_version()
}
