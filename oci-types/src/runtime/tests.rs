//! Unit tests of the runtime models.
