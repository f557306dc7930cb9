//! One phone's journey: steps, preconditions, interlocks and checkpoints.

pub mod journey;
