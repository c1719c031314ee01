//! Tests of the schedulability tests: textbook sets, boundaries, and seeded property tests
//! against brute-force references.

use super::*;
use crate::rng::Rng;

fn task(wcet: u64, period: u64) -> TaskParams {
    TaskParams::implicit(wcet, period)
}

fn constrained(wcet: u64, deadline: u64, period: u64) -> TaskParams {
    TaskParams {
        wcet,
        period,
        deadline,
    }
}

#[test]
fn textbook_set_edf_admits_rate_monotonic_rejects() {
    let set = [task(2, 5), task(4, 7)];
    let edf = check(Test::EdfUniprocessor, 1, &set, None).unwrap();
    assert!((edf.utilization - (0.4 + 4.0 / 7.0)).abs() < 1e-12);
    assert_eq!(edf.bound, Some(1.0));
    assert!(edf.to_string().contains("0.971 <= bound 1.000"), "{edf}");
    // 0.971 > 0.828 = 2(sqrt 2 - 1), so RTA decides: task 1 needs 4 + 2 ceil(8/5) = 8 > 7.
    assert!((liu_layland_bound(2) - 0.828_427).abs() < 1e-6);
    let err = check(Test::FixedPriorityUniprocessor, 1, &set, None).unwrap_err();
    assert!(matches!(
        err,
        AdmissionError::ResponseTime {
            task: 1,
            rank: 2,
            tasks: 2,
            response_at_least: 8,
            deadline: 7,
            ..
        }
    ));
    let msg = err.to_string();
    assert!(
        msg.contains("response time of at least 8 ns > its deadline 7 ns"),
        "{msg}"
    );
    assert!(msg.contains("response-time analysis"), "{msg}");
    assert_eq!(err.bound(), None);
    assert_eq!(err.test_name(), Test::FixedPriorityUniprocessor.name());
}

#[test]
fn textbook_set_admitted_by_response_time_analysis() {
    let set = [task(1, 4), task(2, 6), task(3, 12)];
    let ok = check(Test::FixedPriorityUniprocessor, 1, &set, None).unwrap();
    // U = 0.833 > 3(2^(1/3) - 1) = 0.780: the bound fails, RTA admits.
    assert!((ok.utilization - 5.0 / 6.0).abs() < 1e-12);
    assert!((ok.bound.unwrap() - 0.779_763).abs() < 1e-6);
    assert_eq!(ok.evidence, Evidence::ResponseTimes(vec![1, 3, 10]));
    // Inverted priorities make task 0 wait for everything: R = 1 + 2 + 3 = 6 > 4.
    let err = check(Test::FixedPriorityUniprocessor, 1, &set, Some(&[0, 1, 2])).unwrap_err();
    assert!(matches!(
        err,
        AdmissionError::ResponseTime {
            task: 0,
            rank: 3,
            response_at_least: 6,
            ..
        }
    ));
    // Under the bound, the bound alone admits.
    let light = [task(1, 4), task(1, 6), task(1, 12)];
    let ok = check(Test::FixedPriorityUniprocessor, 1, &light, None).unwrap();
    assert_eq!(ok.evidence, Evidence::WithinBound);
}

#[test]
fn dhall_set_global_rejects_partitioned_admits() {
    let set = [task(2, 100), task(2, 100), task(100, 101)];
    let err = check(Test::EdfGlobalGfb, 2, &set, None).unwrap_err();
    let AdmissionError::GlobalEdf {
        utilization,
        bound,
        workers,
        u_max,
    } = err.clone()
    else {
        panic!("{err:?}");
    };
    assert_eq!(workers, 2);
    assert!((utilization - (0.04 + 100.0 / 101.0)).abs() < 1e-12);
    assert!((u_max - 100.0 / 101.0).abs() < 1e-12);
    assert!((bound - (2.0 - 100.0 / 101.0)).abs() < 1e-12);
    assert_eq!(err.bound(), Some(bound));
    assert_eq!(err.utilization(), utilization);
    assert_eq!(
        err.to_string(),
        "task set rejected by global EDF (GFB bound, Goossens-Funk-Baruah 2003): total \
         utilization 1.030 > bound 1.010 = m(1 - u_max) + u_max with m = 2, u_max = 0.990; \
         remove load, add workers, or turn admission control off"
    );
    let ok = check(Test::EdfPartitionedFfd, 2, &set, None).unwrap();
    let Evidence::Partition { worker_of, loads } = &ok.evidence else {
        panic!("{ok:?}");
    };
    assert_eq!(worker_of, &[1, 1, 0]);
    assert!((loads[0] - 100.0 / 101.0).abs() < 1e-12 && (loads[1] - 0.04).abs() < 1e-12);
    // On one worker nothing fits the heavy task's partner.
    let err = check(Test::EdfPartitionedFfd, 1, &set, None).unwrap_err();
    assert!(
        matches!(err, AdmissionError::Partition { task: 0, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("fits on none of the 1 workers"),
        "{err}"
    );
}

#[test]
fn utilization_exactly_one_is_admitted_and_one_ulp_more_is_not() {
    let thirds = [task(1, 3), task(1, 3), task(1, 3)];
    for test in [
        Test::EdfUniprocessor,
        Test::EdfGlobalGfb,
        Test::EdfPartitionedFfd,
    ] {
        assert!(check(test, 1, &thirds, None).is_ok(), "{test:?}");
    }
    // 1/2 + (2^62 - 1)/(2^63 - 1) = 1 - 2^-64 (about) and 1/2 + (2^62 + 1)/(2^63 - 1) =
    // 1 + 2^-64 (about): both 1.0 in f64, told apart only by exact arithmetic.
    let (half, big) = (1u64 << 62, (1u64 << 63) - 1);
    let under = [task(half, 1 << 63), task(half - 1, big)];
    let over = [task(half, 1 << 63), task(half + 1, big)];
    assert_eq!(under[0].density_f64() + under[1].density_f64(), 1.0);
    assert_eq!(over[0].density_f64() + over[1].density_f64(), 1.0);
    assert!(check(Test::EdfUniprocessor, 1, &under, None).is_ok());
    assert!(check(Test::EdfUniprocessor, 1, &over, None).is_err());
    assert!(check(Test::EdfPartitionedFfd, 1, &under, None).is_ok());
    assert!(check(Test::EdfPartitionedFfd, 1, &over, None).is_err());
    // Global fixed priority, m = 2: bound 4/4 = 1 and per-task limit 2/4, both hit exactly.
    let rm = [task(1, 2), task(1, 4), task(1, 4)];
    let ok = check(Test::FixedPriorityGlobal, 2, &rm, None).unwrap();
    assert_eq!(ok.bound, Some(1.0));
    assert!(check(
        Test::FixedPriorityGlobal,
        2,
        &[task(1, 2), task(2, 7), task(1, 4)],
        None
    )
    .is_err());
}

#[test]
fn rm_us_preconditions() {
    let set = [task(1, 4), task(3, 5)];
    let err = check(Test::FixedPriorityGlobal, 2, &set, None).unwrap_err();
    assert!(
        matches!(err, AdmissionError::RmUsHeavyTask { task: 1, .. }),
        "{err:?}"
    );
    assert_eq!(err.bound(), Some(1.0));
    assert!(
        err.to_string().contains("0.600 > m/(3m - 2) = 0.500"),
        "{err}"
    );
    let light = [task(1, 4), task(1, 5), task(2, 9)];
    assert!(check(Test::FixedPriorityGlobal, 3, &light, None).is_ok());
    let err = check(Test::FixedPriorityGlobal, 3, &light, Some(&[9, 9, 10])).unwrap_err();
    assert!(matches!(
        err,
        AdmissionError::NotRateMonotonic {
            higher: 2,
            higher_period: 9,
            lower: 0,
            lower_period: 4,
            ..
        }
    ));
    let err = check(Test::FixedPriorityGlobal, 3, &[constrained(1, 4, 5)], None).unwrap_err();
    assert!(matches!(
        err,
        AdmissionError::NotImplicitDeadline { task: 0, .. }
    ));
    let heavy = [task(1, 4), task(1, 2)]; // 1/2 > 3/7
    let err = check(Test::FixedPriorityGlobal, 3, &heavy, None).unwrap_err();
    assert!(
        matches!(err, AdmissionError::RmUsHeavyTask { .. }),
        "{err:?}"
    );
    let many = [task(2, 5); 9]; // 0.4 each <= 4/10, total 3.6 > 16/10
    let err = check(Test::FixedPriorityGlobal, 4, &many, None).unwrap_err();
    assert!(
        matches!(err, AdmissionError::RmUsBound { workers: 4, .. }),
        "{err:?}"
    );
}

#[test]
fn validate_rejects_each_bad_parameter() {
    let cases = [
        (constrained(0, 5, 10), "wcet", 0, "must be positive"),
        (constrained(1, 5, 0), "period", 0, "must be positive"),
        (constrained(1, 0, 10), "deadline", 0, "must be positive"),
        (
            constrained(6, 5, 10),
            "wcet",
            6,
            "exceeds the deadline of 5 ns",
        ),
        (
            constrained(1, 11, 10),
            "deadline",
            11,
            "arbitrary deadlines",
        ),
    ];
    for (t, field, value, text) in cases {
        let err = validate(&t).unwrap_err();
        let AdmissionError::InvalidTask {
            index: None,
            field: f,
            value: v,
            ..
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!((*f, *v), (field, value));
        assert!(err.to_string().contains(text), "{err}");
        assert!(err.utilization().is_nan());
        assert_eq!(err.test_name(), "task parameter validation");
    }
    assert!(validate(&constrained(5, 5, 5)).is_ok());
    let err = check(Test::EdfGlobalGfb, 2, &[task(1, 2), task(3, 2)], None).unwrap_err();
    assert!(matches!(
        err,
        AdmissionError::InvalidTask { index: Some(1), .. }
    ));
    assert!(
        err.to_string()
            .starts_with("invalid task 1: wcet = 3 ns exceeds the deadline of 2 ns"),
        "{err}"
    );
}

#[test]
fn usage_errors() {
    let set = [task(1, 4)];
    for test in [
        Test::EdfUniprocessor,
        Test::EdfGlobalGfb,
        Test::EdfPartitionedFfd,
        Test::FixedPriorityUniprocessor,
        Test::FixedPriorityGlobal,
    ] {
        let err = check(test, 0, &set, None).unwrap_err();
        assert!(matches!(err, AdmissionError::Workers { workers: 0, .. }));
        assert_eq!(err.test_name(), test.name());
        assert_eq!(err.utilization(), 0.25);
        // Nothing to schedule is always schedulable.
        let workers = if test == Test::FixedPriorityGlobal {
            2
        } else {
            1
        };
        let ok = check(test, workers, &[], None).unwrap();
        assert_eq!(ok.utilization, 0.0);
    }
    assert!(check(Test::EdfUniprocessor, 2, &set, None).is_err());
    assert!(check(Test::FixedPriorityUniprocessor, 2, &set, None).is_err());
    assert!(check(Test::FixedPriorityGlobal, 1, &set, None).is_err());
    assert!(check(Test::EdfGlobalGfb, MAX_ANALYSED_WORKERS + 1, &set, None).is_err());
    assert!(check(Test::EdfGlobalGfb, MAX_ANALYSED_WORKERS, &set, None).is_ok());
    assert!(check(Test::EdfPartitionedFfd, MAX_ANALYSED_WORKERS, &set, None).is_ok());
    let err = check(Test::FixedPriorityUniprocessor, 1, &set, Some(&[1, 2])).unwrap_err();
    assert!(matches!(
        err,
        AdmissionError::PrioritiesLength {
            tasks: 1,
            priorities: 2,
            ..
        }
    ));
    // The EDF tests ignore priorities.
    assert!(check(Test::EdfUniprocessor, 1, &set, Some(&[])).is_ok());
}

#[test]
fn response_time_analysis_stops_at_its_budget() {
    // U = 0.9991, so RTA decides. Task 1's iteration climbs towards R = 10^7 by a factor
    // of 0.999 of the remaining gap per step: thousands of steps.
    let set = [task(999, 1000), task(10_000, 100_000_000)];
    let order = [0, 1];
    assert_eq!(
        response_times(&set, &order, 1),
        Err(RtaFailure::Budget { task: 1 })
    );
    assert_eq!(
        response_times(&set, &order, RTA_BUDGET),
        Ok(vec![999, 10_000_000])
    );
    let err = fixed_priority_uniprocessor(&set, &order, 0.9991, 1000).unwrap_err();
    assert!(matches!(
        err,
        AdmissionError::AnalysisLimit {
            task: 1,
            budget: 1000,
            ..
        }
    ));
    assert!(
        err.to_string()
            .contains("stopped at its limit of 1000 interference terms"),
        "{err}"
    );
    assert!(check(Test::FixedPriorityUniprocessor, 1, &set, None).is_ok());
}

#[test]
fn big_arithmetic() {
    let mut a = Big::from(u64::MAX);
    a.mul_small(u64::MAX); // (2^64 - 1)^2 = 2^128 - 2^65 + 1
    assert_eq!(a.0, vec![1, u64::MAX - 1]);
    a.add(&Big(vec![u64::MAX, 1]));
    assert_eq!(a.0, vec![0, 0, 1]);
    assert_eq!(a.cmp(&Big(vec![0, 0, 1, 0])), Ordering::Equal);
    assert_eq!(a.cmp(&Big(vec![u64::MAX, u64::MAX])), Ordering::Greater);
    let mut zero = Big::from(5);
    zero.mul_small(0);
    assert_eq!(zero.cmp(&Big(vec![0, 0])), Ordering::Equal);
}

// ---- reference models ----

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Exact `sum weight * num / den` as a reduced `u128` fraction, `None` on overflow.
fn ref_sum(terms: &[(u64, u64, u64)]) -> Option<(u128, u128)> {
    terms.iter().try_fold((0u128, 1u128), |(p, q), &(w, c, d)| {
        let (a, b) = (u128::from(w).checked_mul(u128::from(c))?, u128::from(d));
        let l = (q / gcd(q, b)).checked_mul(b)?;
        let p = p.checked_mul(l / q)?.checked_add(a.checked_mul(l / b)?)?;
        let g = gcd(p, l).max(1);
        Some((p / g, l / g))
    })
}

fn ref_at_most(terms: &[(u64, u64, u64)], limit: u64) -> Option<bool> {
    let (p, q) = ref_sum(terms)?;
    Some(p <= q.checked_mul(u128::from(limit))?)
}

fn densities(tasks: &[TaskParams]) -> Vec<(u64, u64, u64)> {
    tasks.iter().map(|t| (1, t.wcet, t.deadline)).collect()
}

fn lcm(a: u64, b: u64) -> u64 {
    a / gcd(a.into(), b.into()) as u64 * b
}

/// Synchronous periodic release over one hyperperiod on `m` workers in unit time steps,
/// each step running the `m` pending jobs with the smallest `key(task, absolute deadline)`.
/// Each task's largest response time, or `None` on a deadline miss. Unit steps are exact
/// for integer parameters: every release, completion and deadline falls on an integer.
fn simulate(
    tasks: &[TaskParams],
    m: usize,
    key: impl Fn(usize, u64) -> (u64, usize),
) -> Option<Vec<u64>> {
    let n = tasks.len();
    let hyperperiod = tasks.iter().fold(1, |h, t| lcm(h, t.period));
    let (mut left, mut release, mut worst) = (vec![0; n], vec![0; n], vec![0; n]);
    for now in 0..hyperperiod {
        for (i, t) in tasks.iter().enumerate() {
            if left[i] > 0 && release[i] + t.deadline <= now {
                return None;
            }
            if now.is_multiple_of(t.period) {
                (left[i], release[i]) = (t.wcet, now);
            }
        }
        let mut ready: Vec<usize> = (0..n).filter(|&i| left[i] > 0).collect();
        ready.sort_by_key(|&i| key(i, release[i] + tasks[i].deadline));
        for &i in ready.iter().take(m) {
            left[i] -= 1;
            if left[i] == 0 {
                worst[i] = worst[i].max(now + 1 - release[i]);
            }
        }
    }
    left.iter().all(|&l| l == 0).then_some(worst)
}

fn simulate_edf(tasks: &[TaskParams], m: usize) -> Option<Vec<u64>> {
    simulate(tasks, m, |i, deadline| (deadline, i))
}

fn simulate_fixed(tasks: &[TaskParams], m: usize, order: &[usize]) -> Option<Vec<u64>> {
    let mut rank = vec![0; tasks.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r as u64;
    }
    simulate(tasks, m, |i, _| (rank[i], i))
}

/// A random small set: periods in 2..=12, deadlines in wcet..=period (implicit if asked).
fn small_set(rng: &mut Rng, n: u32, implicit: bool) -> Vec<TaskParams> {
    (0..1 + rng.below(n))
        .map(|_| {
            let period = 2 + u64::from(rng.below(11));
            let deadline = if implicit || rng.below(2) == 0 {
                period
            } else {
                1 + u64::from(rng.below(period as u32))
            };
            let wcet = 1 + u64::from(rng.below((deadline as u32).div_ceil(2)));
            constrained(wcet, deadline, period)
        })
        .collect()
}

// ---- property tests ----

/// Uniprocessor EDF admits iff the exact total is <= 1, on sets built to land on, just
/// under and just over 1, and on sets with large denominators.
#[test]
fn edf_uniprocessor_matches_exact_reference() {
    const L: u64 = 720_720; // lcm(1..=16): divisors make exact totals reachable
    let divisors: Vec<u64> = (1..=L).filter(|d| L.is_multiple_of(*d)).collect();
    let (mut checked, mut admitted, mut on_one) = (0, 0, 0);
    for seed in 0..600u64 {
        let mut rng = Rng::new(seed);
        let mut set = Vec::new();
        if seed % 3 == 0 {
            // Random large values: mostly far from 1, and the reference may overflow.
            for _ in 0..1 + rng.below(6) {
                let period = 1 + rng.next_u64() % (1 << 40);
                let deadline = period - rng.next_u64() % period.div_ceil(2);
                set.push(constrained(1 + rng.next_u64() % deadline, deadline, period));
            }
        } else {
            // Exact construction: the last task takes the remainder to 1, then +-1.
            let mut left = L;
            for _ in 0..rng.below(6) {
                let period = divisors[rng.below(divisors.len() as u32) as usize];
                let wcet = 1 + rng.next_u64() % period.div_ceil(4);
                if wcet * (L / period) < left {
                    left -= wcet * (L / period);
                    set.push(task(wcet, period));
                }
            }
            let wcet = match rng.below(3) {
                0 => left - 1,
                1 => left,
                _ => left + 1,
            };
            if (1..=L).contains(&wcet) {
                set.push(task(wcet, L));
            }
            if set.is_empty() {
                continue;
            }
        }
        let got = check(Test::EdfUniprocessor, 1, &set, None).is_ok();
        let terms = densities(&set);
        if let Some(want) = ref_at_most(&terms, 1) {
            assert_eq!(got, want, "seed {seed}: {set:?}");
            checked += 1;
            admitted += u32::from(got);
            on_one += u32::from(ref_sum(&terms).is_some_and(|(p, q)| p == q));
        }
        // GFB with one worker is the same test.
        assert_eq!(check(Test::EdfGlobalGfb, 1, &set, None).is_ok(), got);
    }
    assert!(
        checked > 450 && admitted > 150 && on_one > 50,
        "{checked} {admitted} {on_one}"
    );
}

/// GFB agrees with an exact reference and never admits `U > m`; FFD agrees with a
/// reference FFD in exact arithmetic, and every bin it builds holds at most 1.
#[test]
fn global_and_partitioned_edf_match_references() {
    let (mut gfb_admits, mut ffd_admits, mut ffd_rejects) = (0, 0, 0);
    for seed in 0..800u64 {
        let mut rng = Rng::new(seed);
        let m = 1 + rng.below(4) as usize;
        let scale = [1, 7, 1000][rng.below(3) as usize];
        let set: Vec<TaskParams> = (0..1 + rng.below(12))
            .map(|_| {
                let period = scale * (2 + u64::from(rng.below(30)));
                let deadline = period - u64::from(rng.below(3)) * period / 4;
                constrained(1 + rng.next_u64() % deadline, deadline, period)
            })
            .collect();
        let terms = densities(&set);
        let total_ok = ref_at_most(&terms, m as u64).unwrap();

        // GFB: U + (m - 1) u_max <= m.
        let heaviest = set.iter().max_by(|a, b| cmp_density(a, b)).unwrap();
        let mut gfb_terms = terms.clone();
        gfb_terms.push((m as u64 - 1, heaviest.wcet, heaviest.deadline));
        let gfb = check(Test::EdfGlobalGfb, m, &set, None);
        assert_eq!(
            gfb.is_ok(),
            ref_at_most(&gfb_terms, m as u64).unwrap(),
            "seed {seed}"
        );
        assert!(gfb.is_err() || total_ok, "seed {seed}: GFB admitted U > m");
        gfb_admits += u32::from(gfb.is_ok());

        // Reference FFD: decreasing density (ties by index), first bin with room.
        let mut sorted: Vec<usize> = (0..set.len()).collect();
        sorted.sort_by(|&a, &b| {
            let (x, y) = (&set[a], &set[b]);
            (u128::from(y.wcet) * u128::from(x.deadline))
                .cmp(&(u128::from(x.wcet) * u128::from(y.deadline)))
                .then(a.cmp(&b))
        });
        let mut bins: Vec<Vec<(u64, u64, u64)>> = Vec::new();
        let mut want = Ok(vec![0; set.len()]);
        for &i in &sorted {
            let term = (1, set[i].wcet, set[i].deadline);
            let fits = |bin: &Vec<_>| {
                let mut with = bin.clone();
                with.push(term);
                ref_at_most(&with, 1).unwrap()
            };
            match bins.iter().position(fits) {
                Some(b) => {
                    bins[b].push(term);
                    want.as_mut().map(|w| w[i] = b).ok();
                }
                None if bins.len() < m => {
                    bins.push(vec![term]);
                    want.as_mut().map(|w| w[i] = bins.len() - 1).ok();
                }
                None => {
                    want = Err(i);
                    break;
                }
            }
        }
        match (check(Test::EdfPartitionedFfd, m, &set, None), want) {
            (Ok(ok), Ok(want)) => {
                let Evidence::Partition { worker_of, loads } = ok.evidence else {
                    panic!()
                };
                assert_eq!(worker_of, want, "seed {seed}");
                for (w, load) in loads.iter().enumerate() {
                    let mine: Vec<_> = (0..set.len())
                        .filter(|&i| worker_of[i] == w)
                        .map(|i| (1, set[i].wcet, set[i].deadline))
                        .collect();
                    assert!(!mine.is_empty() && ref_at_most(&mine, 1).unwrap());
                    let sum: f64 = mine.iter().map(|&(_, c, d)| c as f64 / d as f64).sum();
                    assert!((sum - load).abs() < 1e-9);
                }
                assert!(loads.len() <= m && worker_of.iter().all(|&w| w < loads.len()));
                ffd_admits += 1;
            }
            (Err(AdmissionError::Partition { task, loads, .. }), Err(want)) => {
                assert_eq!((task, loads.len()), (want, m), "seed {seed}");
                ffd_rejects += 1;
            }
            (got, want) => panic!("seed {seed}: {got:?} vs {want:?}"),
        }
    }
    assert!(gfb_admits > 100 && ffd_admits > 200 && ffd_rejects > 100);
}

/// Uniprocessor fixed priorities against a brute-force simulation over the hyperperiod:
/// admitted iff no deadline is missed, and the response times are the simulated worst.
#[test]
fn fixed_priority_matches_simulation() {
    let (mut admitted, mut by_bound, mut rejected) = (0, 0, 0);
    for seed in 0..1000u64 {
        let mut rng = Rng::new(seed);
        let set = small_set(&mut rng, 5, seed % 2 == 0);
        let priorities: Option<Vec<u8>> =
            (rng.below(2) == 0).then(|| set.iter().map(|_| rng.below(4) as u8).collect());
        let mut order: Vec<usize> = (0..set.len()).collect();
        match &priorities {
            None => order.sort_by_key(|&i| (set[i].period, i)),
            Some(p) => order.sort_by_key(|&i| (Reverse(p[i]), i)),
        }
        let simulated = simulate_fixed(&set, 1, &order);
        let got = check(
            Test::FixedPriorityUniprocessor,
            1,
            &set,
            priorities.as_deref(),
        );
        assert_eq!(
            got.is_ok(),
            simulated.is_some(),
            "seed {seed}: {set:?} {got:?}"
        );
        match (response_times(&set, &order, RTA_BUDGET), &simulated) {
            (Ok(times), Some(worst)) => assert_eq!(&times, worst, "seed {seed}"),
            (Err(RtaFailure::Miss { .. }), None) => {}
            (rta, sim) => panic!("seed {seed}: {rta:?} vs {sim:?}"),
        }
        match got {
            Ok(Admitted {
                evidence: Evidence::WithinBound,
                ..
            }) => by_bound += 1,
            Ok(_) => admitted += 1,
            Err(AdmissionError::ResponseTime { .. }) => rejected += 1,
            Err(e) => panic!("seed {seed}: {e:?}"),
        }
    }
    assert!(admitted > 100 && by_bound > 50 && rejected > 100);
}

/// Whatever the EDF and global tests admit meets every deadline in simulation; for
/// implicit deadlines on one worker, EDF also admits everything the simulation schedules.
#[test]
fn admitted_sets_meet_deadlines_in_simulation() {
    let mut admitted = [0u32; 4];
    for seed in 0..1000u64 {
        let mut rng = Rng::new(seed);
        let implicit = seed % 2 == 0;
        let m = 1 + rng.below(3) as usize;
        let set = small_set(&mut rng, 3 + 2 * m as u32, implicit);
        let one = simulate_edf(&set, 1).is_some();
        let edf = check(Test::EdfUniprocessor, 1, &set, None).is_ok();
        assert!(!edf || one, "seed {seed}: EDF admitted a miss: {set:?}");
        if implicit {
            assert_eq!(edf, one, "seed {seed}: {set:?}");
        }
        if check(Test::EdfGlobalGfb, m, &set, None).is_ok() {
            assert!(
                simulate_edf(&set, m).is_some(),
                "seed {seed}: GFB, m = {m}: {set:?}"
            );
            admitted[usize::from(m > 1)] += 1;
        }
        if m > 1 && check(Test::FixedPriorityGlobal, m, &set, None).is_ok() {
            let mut order: Vec<usize> = (0..set.len()).collect();
            order.sort_by_key(|&i| (set[i].period, i));
            let ok = simulate_fixed(&set, m, &order).is_some();
            assert!(ok, "seed {seed}: RM-US, m = {m}: {set:?}");
            admitted[2] += 1;
        }
        admitted[3] += u32::from(edf);
    }
    assert!(admitted.iter().all(|&a| a > 50), "{admitted:?}");
}
