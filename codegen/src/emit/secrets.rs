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

    #[test]
    fn credentials_are_secret_page_tokens_are_not() {
        assert!(is_secret_field("X", &Field::optional("access_token", "access_token", Type::String)));
        assert!(is_secret_field(
            "X",
            &Field::optional("oauth_plaintext_client_secret", "oauth_plaintext_client_secret", Type::String)
        ));
        assert!(is_secret_field("X", &Field::optional("password", "password", Type::String)));
        assert!(is_secret_field("HostAuthenticationToken", &Field::optional("token", "token", Type::String)));
        assert!(!is_secret_field("PaginationRequest", &Field::optional("token", "token", Type::String)));
        assert!(!is_secret_field("X", &Field::optional("next_token", "next_token", Type::String)));
        assert!(!is_secret_field("X", &Field::optional("username", "username", Type::String)));
    }
}
