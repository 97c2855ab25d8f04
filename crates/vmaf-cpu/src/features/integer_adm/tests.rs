//! Extractor-level tests of integer ADM.
