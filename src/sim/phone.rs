//! The simulated phone (being written).
