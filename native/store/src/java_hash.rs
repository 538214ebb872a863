//! Java's `String.hashCode`, which RocketMQ uses for tag codes and index keys: it must match
//! bit for bit so that filters computed by Java clients select the same records.

/// `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, with wrapping i32 arithmetic.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0i32, |hash, unit| hash.wrapping_mul(31).wrapping_add(i32::from(unit)))
}

#[cfg(test)]
mod tests {
    use super::java_string_hash;

    #[test]
    fn matches_java_string_hash_code() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        // A surrogate pair hashes as two UTF-16 units: "😀" = D83D DE00.
        assert_eq!(java_string_hash("😀"), 0xD83D * 31 + 0xDE00);
    }
}
