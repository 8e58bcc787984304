//! Model → Rust files. (Being written.)
