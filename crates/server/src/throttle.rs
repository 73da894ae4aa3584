//! The sign-in throttle: how long a password attempt (the `/login` form, or HTTP Basic
//! credentials for git and the API) must wait after failed ones.
//!
//! It slows guessing down without letting a stranger lock anyone out. Three counts of failures
//! are kept in memory:
//!
//! - **per account and address**: the first [`PAIR_FREE`] failures cost nothing, then the next
//!   attempt waits 1 s, 2 s, 4 s … up to [`MAX_DELAY`]. This is what a guesser at one address
//!   meets, and it touches nobody else: the owner signing in from another address is not slowed
//!   at all. A success from that address clears it.
//! - **per address**, whatever the account: the same growing delay after [`ADDRESS_FREE`]
//!   failures, for one address trying many names. A success does not clear it (a guesser's own
//!   account would), [`FORGET`] without a failure does.
//! - **per account**, from any address: only a guard against guessing spread over many
//!   addresses. Past [`ACCOUNT_CEILING`] failures within [`ACCOUNT_WINDOW`], the account takes one
//!   attempt per [`ACCOUNT_DELAY`]: a short wait for the owner, never a lockout.
//!
//! An attempt is counted as a failure when it starts and taken back when the password proves
//! right, so that many attempts sent at once cannot all slip through before the first has been
//! checked; a wait runs from when the last failure was answered. IPv6 addresses are counted by their /64 network, which one subscriber usually has
//! whole.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Failures of one account from one address before the first delay.
pub(crate) const PAIR_FREE: u32 = 4;
/// Failures from one address, over all accounts, before the first delay.
pub(crate) const ADDRESS_FREE: u32 = 20;
/// The first delay; each further failure doubles it.
pub(crate) const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest delay.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(5 * 60);
/// A count of consecutive failures is forgotten after this long without one.
pub(crate) const FORGET: Duration = Duration::from_secs(15 * 60);
/// Failures of one account, from all addresses, within [`ACCOUNT_WINDOW`] before the guard.
pub(crate) const ACCOUNT_CEILING: u32 = 100;
pub(crate) const ACCOUNT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Past the ceiling, the least time between an account's failure and its next attempt.
pub(crate) const ACCOUNT_DELAY: Duration = Duration::from_secs(1);
/// Keys kept per count before old ones are swept out.
const SWEEP_AT: usize = 10_000;
/// Keys kept per count at most; past it, keys still within their free failures are dropped.
const MAX_KEYS: usize = 100_000;

/// Which count asks for the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// This account from this address.
    Pair,
    /// This address, whatever the account.
    Address,
    /// This account from everywhere.
    Account,
}

/// An attempt refused for now: try again after `time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wait {
    pub(crate) time: Duration,
    pub(crate) reason: Reason,
}

impl Wait {
    /// Whole seconds, at least one, for `Retry-After`.
    pub(crate) fn seconds(&self) -> u64 {
        let s = self.time.as_secs() + u64::from(self.time.subsec_nanos() > 0);
        s.max(1)
    }

    /// A sentence for the person waiting.
    pub(crate) fn message(&self) -> String {
        let whom = match self.reason {
            Reason::Pair => "for this account from your address",
            Reason::Address => "from your address",
            Reason::Account => "for this account",
        };
        let s = self.seconds();
        let (n, unit) = if s < 120 { (s, "second") } else { (s.div_ceil(60), "minute") };
        format!(
            "Too many failed sign-ins {whom}. Try again in {n} {unit}{}.",
            if n == 1 { "" } else { "s" }
        )
    }
}

/// Consecutive failures and when the last one was.
#[derive(Debug, Clone, Copy)]
struct Run {
    failures: u32,
    last: Instant,
}

/// Failures within a window, and the last one.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    failures: u32,
    last: Instant,
}

/// How long to wait after `failures` consecutive failures, `free` of which cost nothing.
fn delay(failures: u32, free: u32) -> Duration {
    if failures <= free {
        return Duration::ZERO;
    }
    let doublings = (failures - free - 1).min(20);
    FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

#[derive(Debug, Default)]
pub(crate) struct Throttle {
    pairs: Mutex<HashMap<String, Run>>,
    addresses: Mutex<HashMap<String, Run>>,
    accounts: Mutex<HashMap<String, Window>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The key of an address: IPv4 whole, IPv6 by its /64 network.
fn address_key(addr: Option<IpAddr>) -> String {
    match addr.map(|a| a.to_canonical()) {
        Some(IpAddr::V4(a)) => a.to_string(),
        Some(IpAddr::V6(a)) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => "unknown".to_string(),
    }
}

/// The key of an account as typed: case and surrounding spaces do not make another account.
fn account_key(account: &str) -> String {
    account.trim().to_lowercase()
}

fn run_wait(map: &HashMap<String, Run>, key: &str, free: u32, now: Instant) -> Duration {
    match map.get(key) {
        Some(r) if now.saturating_duration_since(r.last) < FORGET => {
            delay(r.failures, free).saturating_sub(now.saturating_duration_since(r.last))
        }
        _ => Duration::ZERO,
    }
}

fn run_fail(map: &mut HashMap<String, Run>, key: String, free: u32, now: Instant) {
    if map.len() >= SWEEP_AT && !map.contains_key(&key) {
        map.retain(|_, r| now.saturating_duration_since(r.last) < FORGET);
        if map.len() >= MAX_KEYS {
            map.retain(|_, r| r.failures > free);
        }
    }
    let r = map.entry(key).or_insert(Run { failures: 0, last: now });
    if now.saturating_duration_since(r.last) >= FORGET {
        r.failures = 0;
    }
    r.failures = r.failures.saturating_add(1);
    r.last = now;
}

/// Takes back one failure counted when the attempt began.
fn run_undo(map: &mut HashMap<String, Run>, key: &str) {
    if let Some(r) = map.get_mut(key) {
        r.failures = r.failures.saturating_sub(1);
        if r.failures == 0 {
            map.remove(key);
        }
    }
}

impl Throttle {
    /// Begins a password attempt for `account` from `addr`: refused with how long to wait, or
    /// allowed and counted as a failure until [`Throttle::succeeded`] says otherwise.
    pub(crate) fn attempt(&self, account: &str, addr: Option<IpAddr>) -> Result<(), Wait> {
        self.attempt_at(account, addr, Instant::now())
    }

    /// The password was wrong: the wait starts now, when the client hears it (checking the
    /// password took a while since [`Throttle::attempt`] counted it).
    pub(crate) fn failed(&self, account: &str, addr: Option<IpAddr>) {
        self.failed_at(account, addr, Instant::now());
    }

    fn failed_at(&self, account: &str, addr: Option<IpAddr>, now: Instant) {
        let (account, address) = (account_key(account), address_key(addr));
        if let Some(r) = lock(&self.pairs).get_mut(&format!("{account}\n{address}")) {
            r.last = r.last.max(now);
        }
        if let Some(r) = lock(&self.addresses).get_mut(&address) {
            r.last = r.last.max(now);
        }
        if let Some(w) = lock(&self.accounts).get_mut(&account) {
            w.last = w.last.max(now);
        }
    }

    /// The password was right: the attempt is not a failure, and this address starts afresh
    /// for this account.
    pub(crate) fn succeeded(&self, account: &str, addr: Option<IpAddr>) {
        let (account, address) = (account_key(account), address_key(addr));
        lock(&self.pairs).remove(&format!("{account}\n{address}"));
        run_undo(&mut lock(&self.addresses), &address);
        if let Some(w) = lock(&self.accounts).get_mut(&account) {
            w.failures = w.failures.saturating_sub(1);
        }
    }

    fn attempt_at(&self, account: &str, addr: Option<IpAddr>, now: Instant) -> Result<(), Wait> {
        let (account, address) = (account_key(account), address_key(addr));
        let pair = format!("{account}\n{address}");
        // The three maps are locked in this order everywhere.
        let mut pairs = lock(&self.pairs);
        let mut addresses = lock(&self.addresses);
        let mut accounts = lock(&self.accounts);
        let waits = [
            (run_wait(&pairs, &pair, PAIR_FREE, now), Reason::Pair),
            (run_wait(&addresses, &address, ADDRESS_FREE, now), Reason::Address),
            (Self::account_wait(&accounts, &account, now), Reason::Account),
        ];
        if let Some((time, reason)) =
            waits.into_iter().filter(|(t, _)| !t.is_zero()).max_by_key(|(t, _)| *t)
        {
            return Err(Wait { time, reason });
        }
        run_fail(&mut pairs, pair, PAIR_FREE, now);
        run_fail(&mut addresses, address, ADDRESS_FREE, now);
        if accounts.len() >= SWEEP_AT && !accounts.contains_key(&account) {
            accounts.retain(|_, w| now.saturating_duration_since(w.start) < ACCOUNT_WINDOW);
            if accounts.len() >= MAX_KEYS {
                accounts.retain(|_, w| w.failures >= ACCOUNT_CEILING);
            }
        }
        let w = accounts.entry(account).or_insert(Window { start: now, failures: 0, last: now });
        if now.saturating_duration_since(w.start) >= ACCOUNT_WINDOW {
            *w = Window { start: now, failures: 0, last: now };
        }
        w.failures = w.failures.saturating_add(1);
        w.last = now;
        Ok(())
    }

    fn account_wait(map: &HashMap<String, Window>, account: &str, now: Instant) -> Duration {
        match map.get(account) {
            Some(w)
                if w.failures >= ACCOUNT_CEILING
                    && now.saturating_duration_since(w.start) < ACCOUNT_WINDOW =>
            {
                ACCOUNT_DELAY.saturating_sub(now.saturating_duration_since(w.last))
            }
            _ => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn the_delay_grows_from_one_second_and_is_capped() {
        let got: Vec<u64> = (0..=16).map(|n| delay(n, 4).as_secs()).collect();
        assert_eq!(got, [0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(delay(u32::MAX, 4), MAX_DELAY);
    }

    #[test]
    fn a_guesser_at_one_address_does_not_slow_the_owner_at_another() {
        let t = Throttle::default();
        let now = Instant::now();
        let (a, b) = (ip("198.51.100.7"), ip("203.0.113.9"));
        for _ in 0..PAIR_FREE {
            assert!(t.attempt_at("ann", a, now).is_ok());
        }
        // The fifth failure costs a second, the sixth two.
        assert!(t.attempt_at("Ann ", a, now).is_ok());
        let w = t.attempt_at("ann", a, now).unwrap_err();
        assert_eq!((w.time, w.reason), (FIRST_DELAY, Reason::Pair));
        assert!(t.attempt_at("ann", b, now).is_ok(), "the owner elsewhere");
        t.succeeded("ann", b);
        let later = now + Duration::from_secs(1);
        assert!(t.attempt_at("ann", a, later).is_ok());
        let w = t.attempt_at("ann", a, later).unwrap_err();
        assert_eq!(w.time, Duration::from_secs(2));
        assert_eq!(w.seconds(), 2);
        // Half-way through, half the wait is left.
        let w = t.attempt_at("ann", a, later + Duration::from_millis(1500)).unwrap_err();
        assert_eq!(w.time, Duration::from_millis(500));
        assert_eq!(w.seconds(), 1);
        // The wait runs from when the failure was answered.
        t.failed_at("ann", a, later + Duration::from_millis(1800));
        let w = t.attempt_at("ann", a, later + Duration::from_millis(1900)).unwrap_err();
        assert_eq!(w.time, Duration::from_millis(1900));
        // Other accounts from that address are not slowed, and quiet makes it forget.
        assert!(t.attempt_at("bob", a, later).is_ok());
        assert!(t.attempt_at("ann", a, later + Duration::from_millis(1800) + FORGET).is_ok());
    }

    #[test]
    fn a_success_clears_its_own_address_only() {
        let t = Throttle::default();
        let now = Instant::now();
        let a = ip("198.51.100.7");
        for _ in 0..=PAIR_FREE {
            t.attempt_at("ann", a, now).unwrap();
        }
        assert!(t.attempt_at("ann", a, now).is_err());
        t.succeeded("ann", ip("203.0.113.9"));
        assert!(t.attempt_at("ann", a, now).is_err());
        t.succeeded("ann", a);
        assert!(t.attempt_at("ann", a, now).is_ok());
    }

    #[test]
    fn one_address_trying_many_names_is_slowed_and_ipv6_counts_by_network() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..ADDRESS_FREE {
            let addr = ip(&format!("2001:db8:1:2::{:x}", i + 1));
            t.attempt_at(&format!("guess{i}"), addr, now).unwrap();
        }
        // A success from the address (a guesser's own account) does not wipe what it did.
        t.attempt_at("mine", ip("2001:db8:1:2::1"), now).unwrap();
        t.succeeded("mine", ip("2001:db8:1:2::1"));
        t.attempt_at("guess", ip("2001:db8:1:2::1"), now).unwrap();
        let w = t.attempt_at("someone", ip("2001:db8:1:2:ffff::1"), now).unwrap_err();
        assert_eq!((w.time, w.reason), (FIRST_DELAY, Reason::Address));
        assert!(t.attempt_at("someone", ip("2001:db8:1:3::1"), now).is_ok(), "another network");
        assert_eq!(address_key(ip("::ffff:192.0.2.1")), address_key(ip("192.0.2.1")));
    }

    #[test]
    fn guessing_from_many_addresses_meets_a_short_guard_not_a_lockout() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..ACCOUNT_CEILING {
            let addr = ip(&format!("10.{}.{}.1", i / 200, i % 200));
            t.attempt_at("admin", addr, now).unwrap();
        }
        let w = t.attempt_at("admin", ip("192.0.2.50"), now).unwrap_err();
        assert_eq!((w.time, w.reason), (ACCOUNT_DELAY, Reason::Account));
        // A second later the owner gets through.
        let next = now + ACCOUNT_DELAY;
        assert!(t.attempt_at("admin", ip("192.0.2.50"), next).is_ok());
        t.succeeded("admin", ip("192.0.2.50"));
        assert!(t.attempt_at("admin", ip("192.0.2.51"), next + ACCOUNT_DELAY).is_ok());
        assert!(t.attempt_at("admin", None, next + ACCOUNT_WINDOW).is_ok());
        assert!(ACCOUNT_DELAY < Duration::from_secs(5));
    }

    #[test]
    fn waits_are_told_in_seconds_or_minutes() {
        let w = |s: u64, reason| Wait { time: Duration::from_secs(s), reason };
        assert_eq!(
            w(1, Reason::Pair).message(),
            "Too many failed sign-ins for this account from your address. Try again in 1 second."
        );
        assert!(w(64, Reason::Address).message().ends_with("in 64 seconds."));
        assert!(w(300, Reason::Account).message().ends_with("in 5 minutes."));
    }

    #[test]
    fn the_maps_stay_bounded() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..(SWEEP_AT as u32 + 10) {
            let addr = Some(IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i)));
            t.attempt_at(&format!("x{i}"), addr, now).unwrap();
        }
        assert!(lock(&t.pairs).len() > SWEEP_AT);
        let later = now + FORGET;
        t.attempt_at("y", ip("192.0.2.1"), later).unwrap();
        assert_eq!(lock(&t.pairs).len(), 1);
        assert_eq!(lock(&t.addresses).len(), 1);
        assert_eq!(lock(&t.accounts).len(), 1);
    }
}
