//! Backing up the owner's files: plan, pipelined pull over one sync session,
//! manifest with sha256 computed while streaming, verification against the phone, resume.
