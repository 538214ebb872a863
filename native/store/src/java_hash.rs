//! Java `String.hashCode()` as RocketMQ computes it.
//!
//! RocketMQ stores two hashes that clients and brokers must agree on bit for bit:
//! the ConsumeQueue `tags_code` (hash of the TAGS property) and the IndexFile key hash
//! (absolute value of the hash of `topic#key`). Java hashes a string over its UTF-16 code
//! units, so a character outside the Basic Multilingual Plane contributes its two surrogate
//! units, not its code point: `h = 31 * h + unit` with 32-bit wrapping arithmetic, starting
//! from 0.

/// Returns Java's `String.hashCode()` of `s`: `31 * h + c` over the UTF-16 code units of `s`,
/// wrapping on overflow, starting from 0 (so the empty string hashes to 0).
#[must_use]
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16().fold(0_i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Returns the non-negative key hash RocketMQ's IndexFile stores: `|java_string_hash(key)|`,
/// with `i32::MIN` (whose absolute value does not fit) mapped to 0, so the result is always a
/// valid slot dividend.
#[must_use]
pub fn index_key_hash(key: &str) -> i32 {
    let hash = java_string_hash(key).wrapping_abs();
    hash.max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_java_vectors() {
        assert_eq!(java_string_hash("TagA"), 2_598_919);
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("TopicTest#KEY1"), -1_656_969_516);
    }

    #[test]
    fn hashes_utf16_surrogate_pairs_not_code_points() {
        // U+1F600 is the surrogate pair D83D DE00: 0xD83D * 31 + 0xDE00.
        assert_eq!(java_string_hash("\u{1F600}"), 1_772_899);
        assert_eq!(java_string_hash("a\u{1F600}b"), 57_849_694);
    }

    #[test]
    fn index_key_hash_is_never_negative() {
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE in Java.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(index_key_hash("polygenelubricants"), 0);
        assert_eq!(index_key_hash("TopicTest#KEY1"), 1_656_969_516);
        assert_eq!(index_key_hash("TagA"), 2_598_919);
    }
}
