//! Plain N-API plumbing for the one function called once per message (`appendOne`).
//!
//! Why not a `#[napi]` function: napi-rs 3 opens a borrow scope for every typed-array
//! argument (a thread-local lookup, a vector, a guard and its release) so that a Rust slice
//! cannot outlive the JS buffer it views. With the four typed arrays appendOne took then,
//! that was 10-12% of the JS thread's time for 16-byte messages (perf, 4M appends), more than
//! the record's encoding. Here the slices live only for the synchronous call, during which the JS code
//! that owns the buffers is blocked on this thread, so there is nothing to track.

use std::ffi::{c_void, CStr, CString};
use std::ptr;

use napi::bindgen_prelude::{Env, Object, Status};
use napi::JsValue;
use napi::sys;

use crate::convert::ErrorCode;

/// The arguments of the current call (missing ones are `undefined`, as in JS).
///
/// # Safety
/// `env` and `info` must be the ones N-API passed to the running callback.
pub unsafe fn arguments<const N: usize>(env: sys::napi_env, info: sys::napi_callback_info) -> Result<[sys::napi_value; N], napi::Error<ErrorCode>> {
    let mut argv = [ptr::null_mut(); N];
    let mut argc = N;
    // SAFETY: argv has room for argc values; the caller vouches for env and info.
    let status = unsafe { sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), ptr::null_mut()) };
    check(status, "arguments", "")?;
    Ok(argv)
}

/// A number argument as u32 (N-API truncates fractions and wraps, like `>>> 0`).
///
/// # Safety
/// `value` must be a handle of the running callback.
pub unsafe fn uint32(env: sys::napi_env, value: sys::napi_value, what: &str) -> Result<u32, napi::Error<ErrorCode>> {
    let mut out = 0u32;
    // SAFETY: out is a valid u32 slot; the caller vouches for env and value.
    check(unsafe { sys::napi_get_value_uint32(env, value, &mut out) }, what, "a number")?;
    Ok(out)
}

/// The bytes of a Buffer (any ArrayBufferView) argument, borrowed for the call.
///
/// # Safety
/// `value` must be a handle of the running callback, and the slice must not outlive the
/// call: the view's memory belongs to JS and is only pinned while JS waits for us.
pub unsafe fn bytes<'call>(env: sys::napi_env, value: sys::napi_value, what: &str) -> Result<&'call [u8], napi::Error<ErrorCode>> {
    let mut data: *mut c_void = ptr::null_mut();
    let mut length = 0usize;
    // SAFETY: data and length are valid out slots; the caller vouches for env and value.
    check(unsafe { sys::napi_get_buffer_info(env, value, &mut data, &mut length) }, what, "a Buffer")?;
    if length == 0 || data.is_null() {
        return Ok(&[]);
    }
    // SAFETY: N-API reports `length` readable bytes at `data`, alive for the call (above).
    Ok(unsafe { std::slice::from_raw_parts(data as *const u8, length) })
}

/// The numbers of a Float64Array argument, writable, borrowed for the call.
///
/// # Safety
/// As `bytes`; in addition, no other slice over the same memory may be alive during the call.
pub unsafe fn float64s<'call>(env: sys::napi_env, value: sys::napi_value, what: &str) -> Result<&'call mut [f64], napi::Error<ErrorCode>> {
    let mut kind = sys::TypedarrayType::int8_array;
    let mut length = 0usize;
    let mut data: *mut c_void = ptr::null_mut();
    // SAFETY: every out pointer is a valid slot (or null where N-API allows it).
    let status = unsafe {
        sys::napi_get_typedarray_info(env, value, &mut kind, &mut length, &mut data, ptr::null_mut(), ptr::null_mut())
    };
    check(status, what, "a Float64Array")?;
    if kind != sys::TypedarrayType::float64_array {
        return Err(invalid(format!("{what} must be a Float64Array")));
    }
    if length == 0 || data.is_null() {
        return Ok(&mut []);
    }
    if data.align_offset(std::mem::align_of::<f64>()) != 0 {
        return Err(invalid(format!("{what} is not aligned for f64")));
    }
    // SAFETY: N-API reports `length` f64 elements at `data` (aligned, checked above), alive
    // for the call; the caller vouches that nothing else views them meanwhile.
    Ok(unsafe { std::slice::from_raw_parts_mut(data as *mut f64, length) })
}

/// Hand a result or an error back to JS. A panic (an engine bug) becomes an `INTERNAL`
/// error instead of unwinding into C.
///
/// # Safety
/// `env` must be the running callback's.
pub unsafe fn finish(env: sys::napi_env, run: impl FnOnce() -> Result<f64, napi::Error<ErrorCode>>) -> sys::napi_value {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .unwrap_or_else(|_| Err(napi::Error::new(ErrorCode("INTERNAL".into()), "the storage engine panicked".to_owned())));
    let mut out = ptr::null_mut();
    match outcome {
        // SAFETY: out is a valid slot; env is the callback's.
        Ok(number) => match unsafe { sys::napi_create_double(env, number, &mut out) } {
            sys::Status::napi_ok => out,
            _ => ptr::null_mut(), // N-API has an exception pending for us already.
        },
        Err(error) => {
            let code = c_string(error.status.as_ref());
            let message = c_string(&error.reason);
            // SAFETY: both are NUL-terminated strings that outlive the call.
            unsafe { sys::napi_throw_error(env, code.as_ptr(), message.as_ptr()) };
            ptr::null_mut()
        }
    }
}

/// Export `callback` as `name` on the addon's `exports`.
pub fn export(
    env: &Env,
    exports: &Object,
    name: &CStr,
    callback: unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value,
) -> napi::Result<()> {
    let exporting = |status: sys::napi_status| match status {
        sys::Status::napi_ok => Ok(()),
        other => Err(napi::Error::new(Status::GenericFailure, format!("exporting {name:?}: N-API status {other}"))),
    };
    let mut function = ptr::null_mut();
    // SAFETY: env is the loading env and exports its object; name is NUL-terminated and
    // outlives the calls; the callback matches napi_callback and needs no data pointer.
    unsafe {
        exporting(sys::napi_create_function(env.raw(), name.as_ptr(), name.to_bytes().len() as isize, Some(callback), ptr::null_mut(), &mut function))?;
        exporting(sys::napi_set_named_property(env.raw(), exports.raw(), name.as_ptr(), function))
    }
}

fn c_string(text: &str) -> CString {
    CString::new(text.replace('\0', "\u{FFFD}")).expect("NULs replaced")
}

fn invalid(message: String) -> napi::Error<ErrorCode> {
    napi::Error::new(ErrorCode("INVALID_ARGUMENT".into()), message)
}

/// An N-API status as an error naming the argument and the type it must have.
fn check(status: sys::napi_status, what: &str, expected: &str) -> Result<(), napi::Error<ErrorCode>> {
    match status {
        sys::Status::napi_ok => Ok(()),
        sys::Status::napi_number_expected | sys::Status::napi_invalid_arg if !expected.is_empty() => {
            Err(invalid(format!("{what} must be {expected}")))
        }
        other => Err(invalid(format!("{what}: N-API status {other}"))),
    }
}
