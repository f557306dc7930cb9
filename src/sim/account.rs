//! Xiaomi's account web service, simulated (being written).
