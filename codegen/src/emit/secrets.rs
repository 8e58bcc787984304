//! Which fields hold secrets, so their values never show in `Debug` output.
//!
//! The reference does not mark secrets, so this is a naming rule: passwords, secrets and
//! credentials (`access_token`, `exchange_token`, a host authentication `token`, ...), but not
//! page tokens, which are opaque cursors a user may want to see while debugging.

use crate::model::{Field, Type};

/// Whether `field` of message `message` holds a secret.
pub fn is_secret_field(message: &str, field: &Field) -> bool {
    if !matches!(field.ty, Type::String | Type::Bytes) {
        return false;
    }
    let name = field.proto_name.to_ascii_lowercase();
    if message.contains("Pagination") || name.contains("next") || name.contains("page") {
        return false;
    }
    name.contains("password")
        || name.contains("secret")
        || name == "token"
        || name.ends_with("_token")
        || name.ends_with("api_key")
        || name.ends_with("private_key")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str) -> Field {
        Field {
            name: name.into(),
            proto_name: name.into(),
            ty: Type::String,
            optional: true,
            doc: String::new(),
            deprecated: false,
            required_marker: false,
        }
    }

    #[test]
    fn credentials_are_secret_page_tokens_are_not() {
        assert!(is_secret_field("X", &field("access_token")));
        assert!(is_secret_field("X", &field("oauth_plaintext_client_secret")));
        assert!(is_secret_field("X", &field("password")));
        assert!(is_secret_field("HostAuthenticationToken", &field("token")));
        assert!(!is_secret_field("PaginationRequest", &field("token")));
        assert!(!is_secret_field("X", &field("next_token")));
        assert!(!is_secret_field("X", &field("username")));
    }
}
