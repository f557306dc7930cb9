//! Device side of the ADB transport (being written).
