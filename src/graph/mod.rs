//! Meta Graph API: the data the operator reads and the client that reads it.

pub mod model;
