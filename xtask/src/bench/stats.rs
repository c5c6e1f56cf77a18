//! The bench's statistics: the median, which a few slow outliers on a noisy machine do not move,
//! and its distribution-free 95 % confidence interval, applied to paired samples (the boots of
//! two initramfs images in the same round, so a slow spell of the machine weighs on both).

/// The median of `samples` (the mean of the middle two for an even count); `None` when empty.
pub fn median(samples: &[f64]) -> Option<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => sorted.get(middle).copied(),
        _ => Some((sorted.get(middle - 1)? + sorted.get(middle)?) / 2.0),
    }
}

/// A median with its 95 % confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MedianInterval {
    pub median: f64,
    pub low: f64,
    pub high: f64,
}

/// The median of `samples` and its 95 % interval from order statistics: the k-th smallest and
/// k-th largest sample, k the largest rank with P(Binomial(n, ½) < k) ≤ 2.5 % (each sample falls
/// below the true median with probability ½, whatever the distribution, so the interval holds it
/// at least 95 % of the time). No interval below 6 samples: even the extremes would not do.
pub fn median_interval(samples: &[f64]) -> Option<MedianInterval> {
    let n = samples.len();
    let k = order_statistic_rank(n)?;
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(MedianInterval { median: median(&sorted)?, low: sorted[k - 1], high: sorted[n - k] })
}

/// The largest k ≥ 1 with P(X ≤ k - 1) ≤ 0.025 for X ~ Binomial(n, ½), if any.
fn order_statistic_rank(n: usize) -> Option<usize> {
    // P(X = i) in logarithms (½ⁿ underflows for large n): ln C(n, i) - n ln 2.
    let mut ln_pmf = -(n as f64) * std::f64::consts::LN_2;
    let mut below = 0.0; // P(X ≤ i - 1)
    let mut rank = 0;
    for i in 0..n {
        below += ln_pmf.exp();
        if below > 0.025 {
            break;
        }
        rank = i + 1;
        ln_pmf += ((n - i) as f64 / (i + 1) as f64).ln();
    }
    (rank >= 1).then_some(rank)
}

/// Round by round, `pair(a[i], b[i])`: a ratio or a difference of two boots of the same round.
pub fn per_round(a: &[f64], b: &[f64], pair: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    a.iter().zip(b).map(|(&a, &b)| pair(a, b)).collect()
}

/// How an interval judges "at most `bound`": only an interval wholly on one side decides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Judgement {
    Met,
    NotMet,
    /// The interval straddles the bound; about this many rounds in all would narrow it enough,
    /// if the median stayed where it is (an interval shrinks as one over the root of the rounds).
    Undecided {
        rounds_needed: Option<usize>,
    },
}

/// Judges `interval` (from `rounds` rounds) against `median ≤ bound`.
pub fn judge_at_most(interval: &MedianInterval, bound: f64, rounds: usize) -> Judgement {
    if interval.high <= bound {
        return Judgement::Met;
    }
    if interval.low > bound {
        return Judgement::NotMet;
    }
    // The half of the interval that crosses the bound must shrink to the median's distance from it.
    let (distance, half_width) = if interval.median <= bound {
        (bound - interval.median, interval.high - interval.median)
    } else {
        (interval.median - bound, interval.median - interval.low)
    };
    let rounds_needed = (distance > 1e-9 && half_width > 0.0)
        .then(|| (rounds as f64 * (half_width / distance).powi(2)).ceil() as usize);
    Judgement::Undecided { rounds_needed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty_samples() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn order_statistic_ranks_match_the_binomial_tables() {
        // n = 6: P(X = 0) = 1/64 ≤ 2.5 %, so the extremes; n = 5: 1/32 > 2.5 %, none.
        assert_eq!(order_statistic_rank(5), None);
        assert_eq!(order_statistic_rank(6), Some(1));
        assert_eq!(order_statistic_rank(9), Some(2));
        assert_eq!(order_statistic_rank(20), Some(6));
        assert_eq!(order_statistic_rank(30), Some(10));
        assert_eq!(order_statistic_rank(100), Some(40));
        assert!(order_statistic_rank(5000).is_some());
    }

    #[test]
    fn the_interval_holds_the_median_and_narrows_with_more_samples() {
        let samples =
            |n: usize| -> Vec<f64> { (0..n).map(|i| 1.0 + ((i * 37) % 101) as f64 / 1000.0).collect() };
        let few = median_interval(&samples(10)).unwrap();
        assert!(few.low <= few.median && few.median <= few.high, "{few:?}");
        let many = median_interval(&samples(300)).unwrap();
        assert!(many.high - many.low < few.high - few.low, "{few:?} {many:?}");
        assert_eq!(median_interval(&samples(5)), None);
        let six = median_interval(&[6.0, 1.0, 5.0, 2.0, 4.0, 3.0]).unwrap();
        assert_eq!(six, MedianInterval { median: 3.5, low: 1.0, high: 6.0 });
    }

    #[test]
    fn rounds_pair_their_two_boots() {
        assert_eq!(per_round(&[2.0, 3.0], &[1.0, 2.0], |a, b| a / b), vec![2.0, 1.5]);
        assert_eq!(per_round(&[2.0, 3.0], &[1.0, 2.0], |a, b| a - b), vec![1.0, 1.0]);
    }

    #[test]
    fn only_an_interval_wholly_on_one_side_of_the_bound_decides() {
        let interval = |median, low, high| MedianInterval { median, low, high };
        assert_eq!(judge_at_most(&interval(1.0, 0.95, 1.04), 1.05, 9), Judgement::Met);
        assert_eq!(judge_at_most(&interval(1.2, 1.06, 1.3), 1.05, 9), Judgement::NotMet);
        // 1.0 above the median must shrink to 0.5: four times the rounds.
        assert_eq!(
            judge_at_most(&interval(1.0, 0.5, 2.0), 1.5, 9),
            Judgement::Undecided { rounds_needed: Some(36) }
        );
        assert_eq!(
            judge_at_most(&interval(1.05, 1.0, 1.1), 1.05, 9),
            Judgement::Undecided { rounds_needed: None }
        );
    }
}
