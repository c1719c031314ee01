//! Seeds from the environment, and the determinism check.
//!
//! - [`seeds`] / [`for_each_seed`]: `KAIROS_SEED=<n>` reruns exactly seed `n`; `KAIROS_SEEDS=<n>`
//!   sweeps `n` seeds (the default seed and the `n - 1` following it); otherwise the default seed.
//!   A panic under `for_each_seed` prints the seed and how to replay it.
//! - [`check_determinism`]: runs a scenario twice and compares the traces.

use super::trace::Event;
use super::{Builder, Digest, Sim};
use crate::error::BuildError;
use std::fmt;

/// The seeds a test should run, from the environment (see the module docs).
///
/// # Panics
/// If `KAIROS_SEED` or `KAIROS_SEEDS` is set but is not an unsigned integer (`KAIROS_SEEDS`
/// must be at least 1): the test could not run what was asked.
///
/// ```
/// // Without KAIROS_SEED / KAIROS_SEEDS in the environment: just the default.
/// if std::env::var_os("KAIROS_SEED").is_none() && std::env::var_os("KAIROS_SEEDS").is_none() {
///     assert_eq!(kairos::sim::seeds(7), vec![7]);
/// }
/// ```
pub fn seeds(default: u64) -> Vec<u64> {
    if let Some(v) = std::env::var_os("KAIROS_SEED") {
        let v = v.to_string_lossy();
        let seed = parse(&v).unwrap_or_else(|| {
            panic!("KAIROS_SEED={v:?} is not a seed: give an unsigned integer (decimal or 0x hex)")
        });
        return vec![seed];
    }
    if let Some(v) = std::env::var_os("KAIROS_SEEDS") {
        let v = v.to_string_lossy();
        let n = parse(&v).filter(|&n| n > 0).unwrap_or_else(|| {
            panic!("KAIROS_SEEDS={v:?} is not a number of seeds: give an integer of at least 1")
        });
        return (0..n).map(|i| default.wrapping_add(i)).collect();
    }
    vec![default]
}

/// Decimal or `0x` hexadecimal.
fn parse(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Runs `scenario` once per seed of [`seeds`]`(default)`. If it panics, prints the seed and the
/// command-line variable that replays exactly that run, then resumes the panic.
///
/// ```
/// let mut ran = Vec::new();
/// kairos::sim::for_each_seed(11, |seed| {
///     let mut sim = kairos::sim::Builder::new().seed(seed).build().unwrap();
///     sim.block_on(async {});
///     ran.push(seed);
/// });
/// assert!(!ran.is_empty());
/// ```
pub fn for_each_seed(default: u64, mut scenario: impl FnMut(u64)) {
    for seed in seeds(default) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(seed)));
        if let Err(payload) = outcome {
            eprintln!("kairos::sim: failed with seed {seed}; rerun exactly this run with KAIROS_SEED={seed}");
            std::panic::resume_unwind(payload);
        }
    }
}

/// Two runs of one scenario with the same seed gave different traces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The seed of both runs.
    pub seed: u64,
    /// Position of the first differing event (`None` if the kept events are equal and only the
    /// digests differ, e.g. with `keep_trace(false)`).
    pub index: Option<usize>,
    /// The first run's event there (`None`: its trace ended).
    pub first: Option<Event>,
    /// The second run's event there.
    pub second: Option<Event>,
    /// Both digests.
    pub digests: (Digest, Digest),
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the simulation with seed {} is not deterministic: ",
            self.seed
        )?;
        let show = |e: &Option<Event>| e.map_or("<trace ended>".to_owned(), |e| e.to_string());
        match self.index {
            Some(i) => write!(
                f,
                "the runs differ at event #{i}:\n  first run:  {}\n  second run: {}\n",
                show(&self.first),
                show(&self.second)
            )?,
            None => writeln!(f, "the digests differ (events not kept to compare)")?,
        }
        write!(
            f,
            "  digests {} and {}; look for a decision that depends on something other than \
             the seed (the OS clock, addresses, HashMap order, another thread)",
            self.digests.0, self.digests.1
        )
    }
}

impl std::error::Error for Divergence {}

/// Why [`Builder::check_determinism`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeterminismError {
    /// The builder is invalid.
    #[error("cannot build the simulation: {0}")]
    Build(#[from] BuildError),
    /// The runs differ.
    #[error("{0}")]
    Diverged(Box<Divergence>),
}

/// Runs `scenario` twice on `Builder::new().seed(seed)` (1 worker, `Fifo`) and compares the
/// traces; see [`Builder::check_determinism`] for other configurations.
///
/// # Errors
/// [`Divergence`] with the first differing event (boxed: it holds two events).
///
/// ```
/// let digest = kairos::sim::check_determinism(3, |sim| {
///     sim.block_on(async { kairos::spawn(async {}).await.unwrap() });
/// })
/// .unwrap();
/// println!("digest {digest}");
/// ```
pub fn check_determinism(
    seed: u64,
    scenario: impl FnMut(&mut Sim),
) -> Result<Digest, Box<Divergence>> {
    match Builder::new().seed(seed).check_determinism(scenario) {
        Ok(d) => Ok(d),
        Err(DeterminismError::Diverged(d)) => Err(d),
        Err(DeterminismError::Build(e)) => unreachable!("the default builder is valid: {e}"),
    }
}

impl Builder {
    /// Builds and runs the simulation twice with this configuration (trace kept), calling
    /// `scenario` on each, and compares the two traces. Returns the digest if they are equal.
    ///
    /// # Errors
    /// [`DeterminismError::Diverged`] with the first differing event, or
    /// [`DeterminismError::Build`].
    ///
    /// ```
    /// use kairos::{sim, Policy};
    /// let b = sim::Builder::new().seed(1).workers(4).policy(Policy::Edf);
    /// let d = b.check_determinism(|sim| {
    ///     sim.block_on(async {
    ///         let hs: Vec<_> = (0..50).map(|i| kairos::spawn(async move { i })).collect();
    ///         for h in hs { h.await.unwrap(); }
    ///     });
    /// });
    /// assert!(d.is_ok());
    /// ```
    pub fn check_determinism(
        &self,
        mut scenario: impl FnMut(&mut Sim),
    ) -> Result<Digest, DeterminismError> {
        let b = self.clone().keep_trace(true);
        let mut run = || -> Result<_, BuildError> {
            let mut sim = b.build()?;
            scenario(&mut sim);
            Ok(sim.trace())
        };
        let first = run()?;
        let second = run()?;
        if first == second {
            return Ok(first.digest());
        }
        let (index, a, b2) = match first.first_difference(&second) {
            Some((i, a, b2)) => (Some(i), a, b2),
            None => (None, None, None),
        };
        Err(DeterminismError::Diverged(Box::new(Divergence {
            seed: self.seed,
            index,
            first: a,
            second: b2,
            digests: (first.digest(), second.digest()),
        })))
    }
}
