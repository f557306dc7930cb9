//! Report types (serde), the SQLite journal, and the printable certificate.
