//! The USB cable between a simulated phone and the host, as a cost: every packet the
//! phone sends occupies the link for `len / rate` (shared by all streams of the
//! connection, as one USB link is) and reaches the host one round trip later.
//!
//! Without it the simulator talks over loopback TCP at memory speed, where a round trip
//! costs microseconds and bytes are nearly free — nothing like a phone. The numbers
//! themselves are guesses kept in `Costs::realistic` (docs/sim-transport.md "Link").
//!
//! Knows time and packet sizes; never looks at what a packet says.

use std::time::{Duration, Instant};

use super::packet::HEADER_LEN;

/// What the link costs, read from the phone's [`crate::sim::device::TransportFaults`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkCost {
    /// Bytes per second the link carries phone → host; `None` is unlimited.
    pub bytes_per_sec: Option<u64>,
    /// Host → phone → host latency of one exchange, on top of the bytes' own time.
    pub round_trip: Duration,
}

impl LinkCost {
    pub fn is_free(&self) -> bool {
        self.bytes_per_sec.is_none() && self.round_trip.is_zero()
    }
}

/// When the link is next free. One per connection: the adb server keeps a single
/// transport to a phone, so this is the phone's cable.
#[derive(Debug, Default)]
pub struct LinkClock {
    free_at: Option<Instant>,
}

impl LinkClock {
    /// When a packet with `payload` bytes, handed to the link at `queued`, has reached
    /// the host. Packets queue behind each other (bandwidth) but travel together
    /// (latency): the round trip is added to each packet's departure, not summed.
    pub fn arrival(&mut self, cost: &LinkCost, queued: Instant, payload: usize) -> Instant {
        let start = self.free_at.map_or(queued, |f| f.max(queued));
        let on_wire = cost
            .bytes_per_sec
            .filter(|r| *r > 0)
            .map_or(Duration::ZERO, |r| {
                Duration::from_secs_f64((HEADER_LEN + payload) as f64 / r as f64)
            });
        let departed = start + on_wire;
        self.free_at = Some(departed);
        departed + cost.round_trip
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1_000_000;

    fn cost(rate: Option<u64>, rtt_ms: u64) -> LinkCost {
        LinkCost {
            bytes_per_sec: rate,
            round_trip: Duration::from_millis(rtt_ms),
        }
    }

    #[test]
    fn a_free_link_delivers_at_once() {
        let mut clock = LinkClock::default();
        let t = Instant::now();
        assert_eq!(clock.arrival(&cost(None, 0), t, 1 << 20), t);
        assert!(cost(None, 0).is_free());
        assert!(!cost(Some(MB), 0).is_free());
    }

    #[test]
    fn back_to_back_packets_queue_for_the_bandwidth_but_share_the_latency() {
        let mut clock = LinkClock::default();
        let c = cost(Some(MB), 1);
        let t = Instant::now();
        let payload = 1_000_000 - HEADER_LEN;
        let first = clock.arrival(&c, t, payload);
        let second = clock.arrival(&c, t, payload);
        assert_eq!(first, t + Duration::from_millis(1001));
        // The second waits for the first's bytes, not for its round trip.
        assert_eq!(second, t + Duration::from_millis(2001));
    }

    #[test]
    fn an_idle_link_starts_when_the_packet_is_queued() {
        let mut clock = LinkClock::default();
        let c = cost(Some(MB), 0);
        let t = Instant::now();
        clock.arrival(&c, t, 0);
        let later = t + Duration::from_secs(5);
        assert_eq!(
            clock.arrival(&c, later, 1000 - HEADER_LEN),
            later + Duration::from_millis(1)
        );
    }
}
