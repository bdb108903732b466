// The tags of the pre-parsed built-in rule format, written by `build.rs` and read by
// `src/builtin.rs`, which both include this file (see `src/builtin.rs` for the format).

/// A u32 length and that many UTF-8 bytes.
const STRING: u8 = 0;
/// An i64, 8 bytes.
const INTEGER: u8 = 1;
/// An f64's bits, 8 bytes.
const FLOAT: u8 = 2;
/// One byte, 0 or 1.
const BOOLEAN: u8 = 3;
/// A u32 count and that many values.
const ARRAY: u8 = 4;
/// A u32 count and that many (string key, value) pairs.
const TABLE: u8 = 5;
