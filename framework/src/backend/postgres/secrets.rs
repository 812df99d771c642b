//! Keeping passwords out of connect errors. The URL's Display form is already redacted; this
//! covers the driver's own text, which is not ours to control. Both use the one parse of
//! `backend::url`, the driver's own.

pub(super) use crate::backend::url::{scrub, secrets_in};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_userinfo_and_parameter_passwords_raw_and_decoded() {
        assert_eq!(secrets_in("postgres://u:p%40ss@h/db"), ["p%40ss", "p@ss"]);
        assert_eq!(secrets_in("postgres://h/db?user=u&password=x1"), ["x1"]);
        assert!(secrets_in("postgres://u@h/db").is_empty());
        assert_eq!(scrub("bad p@ss here", &secrets_in("postgres://u:p%40ss@h/db")), "bad *** here");
        assert_eq!(secrets_in("postgres://pw2:pa/ss@127.0.0.1:54403/t5"), ["pa/ss"]);
    }
}
