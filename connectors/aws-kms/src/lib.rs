//! firekeep KeyProvider on AWS KMS
