//! Go-compatible certificate verification (crypto/x509 semantics) on parsed certificates.
